"""RFC 9162 (Certificate Transparency v2) Merkle trees: pure functions over 32-byte hashes.

Nothing here stores anything. Trees are given as the list of their leaf hashes; proofs are
lists of 32-byte SHA-256 hashes. The tree shape is RFC 9162 §2.1.1: a tree of ``n > 1``
leaves splits into a left subtree of ``k`` leaves, ``k`` the largest power of two ``< n``,
and a right subtree of ``n - k`` leaves.

Verifiers follow the bit-twiddling algorithms of RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2
(consistency) and never rebuild trees. They raise :class:`InvalidProof` when the inputs
break a precondition (a proof of the wrong length, an index beyond the tree, ``size1 == 0``,
``size1 > size2``, any hash or root that is not 32 bytes) and :class:`RootMismatch` when a
well-formed proof leads to another root.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from operator import methodcaller

from ledger.errors import InvalidProof, RootMismatch

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "leaf_hashes",
    "node_hash",
    "root_from_inclusion_proof",
    "root_from_leaf_hashes",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """Hash of a leaf: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


_sha256 = hashlib.sha256
_digest = methodcaller("digest")
_LEAF, _NODE = b"\x00", b"\x01"


def leaf_hashes(leaves: Iterable[bytes]) -> list[bytes]:
    """:func:`leaf_hash` of each of ``leaves``, computed in C (no Python call per leaf)."""
    return list(map(_digest, map(_sha256, map(_LEAF.__add__, leaves))))


def _parents(level: list[bytes]) -> list[bytes]:
    """:func:`node_hash` of each pair of ``level`` (an unpaired last node is dropped)."""
    lefts = map(_NODE.__add__, level[0::2])
    return list(map(_digest, map(_sha256, map(bytes.__add__, lefts, level[1::2]))))


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise InvalidProof(f"{what} has {len(value)} bytes, want {HASH_SIZE}")


def _levels(leaf_hashes: Sequence[bytes]) -> list[list[bytes]]:
    """Every level of the tree, leaves first. An unpaired last node is carried up unchanged,
    which yields exactly the RFC 9162 shape. Requires a non-empty sequence."""
    levels = [list(leaf_hashes)]
    while len(level := levels[-1]) > 1:
        up = _parents(level)
        if len(level) % 2:
            up.append(level[-1])
        levels.append(up)
    return levels


def _path(levels: list[list[bytes]], level: int, index: int) -> list[bytes]:
    """Siblings of node ``index`` of ``level`` up to the root, bottom first."""
    proof = []
    for nodes in levels[level:-1]:
        if (sibling := index ^ 1) < len(nodes):
            proof.append(nodes[sibling])
        index >>= 1
    return proof


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """Merkle Tree Hash (MTH) of the leaf hashes; ``EMPTY_ROOT`` for no leaves. O(n)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    return _levels(leaf_hashes)[-1][0]


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """RFC 9162 PATH(index, D[n]) of the leaf at ``index``. Requires 0 <= index < n."""
    if not 0 <= index < len(leaf_hashes):
        raise InvalidProof(f"index {index} is outside a tree of size {len(leaf_hashes)}")
    return _path(_levels(leaf_hashes), 0, index)


def consistency_proof(leaf_hashes: Sequence[bytes], size1: int) -> list[bytes]:
    """RFC 9162 PROOF(size1, D[n]) from the first ``size1`` leaves to all n of them.
    Requires 0 < size1 <= n; the proof is empty when size1 == n."""
    size2 = len(leaf_hashes)
    if not 0 < size1 <= size2:
        raise InvalidProof(f"no consistency proof from size {size1} to size {size2}")
    if size1 == size2:
        return []
    # The last leaf of the old tree closes a perfect subtree of 2**shift leaves; the proof is
    # that subtree's hash (omitted when it is the whole old tree) and its path in the new tree.
    shift = (size1 & -size1).bit_length() - 1
    levels = _levels(leaf_hashes)
    index = (size1 - 1) >> shift
    seed = [] if size1 == 1 << shift else [levels[shift][index]]
    return seed + _path(levels, shift, index)


def root_from_inclusion_proof(
    index: int, tree_size: int, leaf_hash: bytes, proof: Sequence[bytes]
) -> bytes:
    """Root implied by an inclusion proof (RFC 9162 §2.1.3.2 steps 1-5).
    Requires 0 <= index < tree_size and 32-byte hashes; raises InvalidProof otherwise,
    and when the proof has the wrong length for ``index`` and ``tree_size``."""
    if not 0 <= index < tree_size:
        raise InvalidProof(f"index {index} is outside a tree of size {tree_size}")
    _check_hash(leaf_hash, "leaf hash")
    for i, p in enumerate(proof):
        _check_hash(p, f"proof[{i}]")
    fn, sn, r = index, tree_size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise InvalidProof(f"proof too long for index {index} in size {tree_size}")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise InvalidProof(f"proof too short for index {index} in size {tree_size}")
    return r


def verify_inclusion(
    index: int, tree_size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``tree_size`` with ``root``.
    Requires 0 <= index < tree_size and 32-byte hashes (else InvalidProof); raises
    RootMismatch when the proof leads to another root."""
    _check_hash(root, "root")
    calculated = root_from_inclusion_proof(index, tree_size, leaf_hash, proof)
    if calculated != root:
        raise RootMismatch(root, calculated)


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of ``size2`` with ``root2`` extends the one of ``size1`` with
    ``root1`` (RFC 9162 §2.1.4.2). Requires 0 < size1 <= size2 (even 0 -> 0 is refused:
    such a proof is meaningless), an empty proof when size1 == size2 and 32-byte hashes;
    raises InvalidProof otherwise, RootMismatch when a root does not match."""
    if size1 <= 0:
        raise InvalidProof(f"consistency proof from size {size1} is meaningless")
    if size1 > size2:
        raise InvalidProof(f"size1 {size1} > size2 {size2}")
    _check_hash(root1, "root1")
    _check_hash(root2, "root2")
    for i, p in enumerate(proof):
        _check_hash(p, f"proof[{i}]")
    if size1 == size2:
        if proof:
            raise InvalidProof("size1 == size2 but the proof is not empty")
        if root1 != root2:
            raise RootMismatch(root2, root1)
        return
    if not proof:
        raise InvalidProof("empty consistency proof for different sizes")
    path = [root1, *proof] if size1 & (size1 - 1) == 0 else list(proof)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise InvalidProof(f"proof too long for sizes {size1} -> {size2}")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise InvalidProof(f"proof too short for sizes {size1} -> {size2}")
    if fr != root1:
        raise RootMismatch(root1, fr)
    if sr != root2:
        raise RootMismatch(root2, sr)


class CompactRange:
    """Incremental Merkle tree over appended leaf hashes in O(log n) memory: it keeps only the
    roots of the perfect subtrees that make up the tree, largest (leftmost) first."""

    __slots__ = ("_hashes", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._hashes: list[bytes] = []

    @classmethod
    def from_leaf_hashes(cls, leaf_hashes: Iterable[bytes]) -> CompactRange:
        """A range holding every leaf hash of ``leaf_hashes``, in order."""
        compact = cls()
        for h in leaf_hashes:
            compact.append(h)
        return compact

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    def append(self, leaf_hash: bytes) -> None:
        """Append one leaf hash (32 bytes, else ValueError); merges equal-sized subtrees."""
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"leaf hash has {len(leaf_hash)} bytes, want {HASH_SIZE}")
        h, n = leaf_hash, self._size
        while n & 1:
            h = node_hash(self._hashes.pop(), h)
            n >>= 1
        self._hashes.append(h)
        self._size += 1

    def root(self) -> bytes:
        """MTH of the leaves appended so far; ``EMPTY_ROOT`` when there are none."""
        if not self._hashes:
            return EMPTY_ROOT
        r = self._hashes[-1]
        for h in reversed(self._hashes[:-1]):
            r = node_hash(h, r)
        return r
