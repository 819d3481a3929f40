"""Online payment for electricity (оплата электроэнергии онлайн): T-Bank
Internet Acquiring (:mod:`docflow.payments.tbank`), a fake acquirer for the
embedded mode and tests (its bank side :mod:`docflow.payments.fake_acquirer`,
its pages :mod:`docflow.payments.fake`), the cabinet's flow
(:mod:`docflow.payments.services`, :mod:`docflow.payments.views`)."""
