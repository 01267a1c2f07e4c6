"""Alerts: rules, air-quality objectives, the alert lifecycle and notifications."""
