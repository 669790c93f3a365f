"""hipaactl: plan, apply and audit the HIPAA-relevant settings of CallTrackingMetrics."""

__version__ = "0.2.0"
