"""积分通 Jifentong exchange: the points application on the ledger's application interface.

Modules, one concept each:

- ``app``         ExchangeApp (check / execute / commit / discard / restore), record dispatch
- ``records``     record type names and one body builder per type
- ``codes``       result codes in check order (the API's error-code contract)
- ``limits``      every bound, named in one place
- ``genesis``     the genesis application section and its parameters
- ``state``       copy-on-write tables; ``model`` the objects they hold; ``tables`` the rows
- ``governance``  members, merchants, votes, key rotation (``auth``: who may sign what)
- ``programs``    programs and promotions; ``rates`` posted rates and the notice period
- ``points``      issue, transfer, redeem; ``holdings`` balances and lots
- ``swap``        swaps at posted rates; ``pricing`` the integer arithmetic
- ``expiry``      lapsing lots at block time; ``settlement`` netting and settle records
- ``queries``     read-side views for the API, explorer and regulator
- ``audit``       invariants checked after every block and in full on demand
"""

from exchange.app import ExchangeApp

__all__ = ["ExchangeApp"]
