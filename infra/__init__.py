"""Deployment sources: the resources template, the stages and the IAM policies."""
