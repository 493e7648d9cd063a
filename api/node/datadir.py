"""The layout of a data dir.

::

    DIR/genesis.json            the genesis document (shared by every member)
    DIR/keys/validator-N.pem    validator keys of the simulated consortium (one per replica)
    DIR/node-N.sqlite           replica N's store
    DIR/mempool.sqlite          acknowledged records not yet committed
    DIR/wallets/                customer key files (demo only; real customers keep their own)
"""

from __future__ import annotations

from pathlib import Path

from ledger.chain.genesis import Genesis
from ledger.crypto.keys import SigningKey
from ledger.errors import StoreError


class DataDir:
    """Paths inside one data dir."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def genesis_path(self) -> Path:
        return self.path / "genesis.json"

    @property
    def keys_dir(self) -> Path:
        return self.path / "keys"

    def exists(self) -> bool:
        return self.genesis_path.is_file()

    def genesis(self) -> Genesis:
        if not self.exists():
            raise StoreError(f"{self.path} is not a Jifentong data dir (no genesis.json); "
                             "create one with `jifentong init` or `jifentong demo`",
                             code="not_a_data_dir")
        return Genesis.load(self.genesis_path)

    def validator_key_path(self, index: int) -> Path:
        return self.keys_dir / f"validator-{index}.pem"

    def validator_keys(self, genesis: Genesis) -> list[SigningKey | None]:
        """The validator keys held here, in genesis order (None where a key is elsewhere)."""
        keys: list[SigningKey | None] = []
        for index, info in enumerate(genesis.validators):
            path = self.validator_key_path(index)
            key = SigningKey.load(path) if path.is_file() else None
            if key is not None and key.public_hex != info.key:
                raise StoreError(f"{path} does not hold validator {info.name}'s key",
                                 code="validator_key_mismatch")
            keys.append(key)
        return keys

    def node_paths(self) -> list[Path]:
        return sorted(self.path.glob("node-*.sqlite"))


def create_data_dir(path: Path, genesis: Genesis, validator_keys: list[SigningKey]) -> DataDir:
    """Write genesis.json and the simulated consortium's validator keys into a new data dir."""
    data = DataDir(path)
    if data.exists():
        raise StoreError(f"{path} holds an alliance already (genesis.json exists)",
                         code="data_dir_exists")
    data.path.mkdir(parents=True, exist_ok=True)
    for index, key in enumerate(validator_keys):
        key.save(data.validator_key_path(index))
    genesis.save(data.genesis_path)
    return data
