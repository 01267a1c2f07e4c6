"""Home sensors for independent living: residents, consent, carers, routines and alerts."""
