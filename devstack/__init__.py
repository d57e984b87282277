"""Development and operator tools that never ship in the Lambda zip.

The local stack (``python -m devstack``), the fault injector, the consistency
checker and the staff CLI. ``chalicelib`` must never import this package.
"""
