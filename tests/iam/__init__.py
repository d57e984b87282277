"""IAM: the per-function policies and the IAM-enforced run of the main flows."""
