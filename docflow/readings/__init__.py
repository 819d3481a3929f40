"""Readings of settlement meters, the Excel form, consumption analysis and the
ПРОМ10 act that becomes a document of the flow."""
