"""The profile's «Подписка на оповещения» and phone confirmation."""
