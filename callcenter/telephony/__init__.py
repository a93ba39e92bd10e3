"""Telephony: SIP attributes, phone numbers, DTMF, hang-up. Knows nothing about orders."""
