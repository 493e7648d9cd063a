"""The customer's wallet (``/wallet``) and the shop's till (``/till``), served by the node.

Both are static pages and plain ES modules (``api/wallet/static/``): keys are made, kept and
used in the browser; the node only ever receives signed records.
"""
