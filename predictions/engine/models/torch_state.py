"""Read a state dict that ``torch.save`` wrote, into numpy arrays, without importing torch.

Why by hand: serving prices the network member with a numpy forward pass
(engine.fast_pricing.NumpyMLP) and needs only its weights, but ``torch.load`` means importing
torch, ~230 MB of resident memory and 2-3 s in every server process. The format is small and
documented by torch's own serializer (``torch/serialization.py``): a zip archive holding a
pickle (``data.pkl``) whose tensors are ``torch._utils._rebuild_tensor_v2(storage, offset,
size, stride, ...)`` calls and whose storages are persistent ids ``("storage", type, key,
location, numel)`` naming raw little-endian files ``data/{key}``. safetensors would be the
library for this, but the artifacts already stored hold torch's format.

Like ``torch.load(weights_only=True)``, the unpickler accepts nothing but what a plain state
dict of CPU tensors contains; anything else is refused (a ValueError naming it).
"""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np

# torch's storage classes as numpy dtypes: the ones a float/int network's weights use.
_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "BoolStorage": np.bool_,
}


class _Storage:
    def __init__(self, dtype) -> None:
        self.dtype = dtype


def _rebuild_tensor(storage, offset, size, stride, *_ignored):
    itemsize = storage.array.itemsize
    return np.lib.stride_tricks.as_strided(
        storage.array[offset:], shape=tuple(size), strides=tuple(s * itemsize for s in stride)
    ).copy()


class _StateUnpickler(pickle.Unpickler):
    def __init__(self, file, read_record) -> None:
        super().__init__(file)
        self._read_record = read_record

    def find_class(self, module: str, name: str):
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _Storage(_STORAGE_DTYPES[name])
        if (module, name) == ("collections", "OrderedDict"):
            return dict
        raise ValueError(f"state dict holds {module}.{name}, which a plain state dict of tensors does not")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise ValueError(f"unexpected persistent id in the state dict: {pid!r}")
        _, storage_type, key, _location, numel = pid
        if not isinstance(storage_type, _Storage):
            raise ValueError(f"unexpected storage type in the state dict: {storage_type!r}")
        array = np.frombuffer(self._read_record(key), dtype=np.dtype(storage_type.dtype).newbyteorder("<"))
        if array.size < numel:
            raise ValueError(f"storage {key} holds {array.size} values; the state dict says {numel}")
        storage = _Storage(storage_type.dtype)
        storage.array = array
        return storage


def state_dict_arrays(data: bytes) -> dict[str, np.ndarray]:
    """The tensors of a ``torch.save``d dict of CPU tensors, as numpy arrays by name."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        pickles = [name for name in names if name.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise ValueError("not a torch.save archive (no single data.pkl)")
        prefix = pickles[0][: -len("data.pkl")]
        byteorder = archive.read(prefix + "byteorder").decode() if prefix + "byteorder" in names else "little"
        if byteorder != "little":
            raise ValueError(f"state dict written {byteorder}-endian; only little-endian is read")
        unpickler = _StateUnpickler(
            io.BytesIO(archive.read(pickles[0])), lambda key: archive.read(f"{prefix}data/{key}")
        )
        state = unpickler.load()
    if not isinstance(state, dict) or not all(isinstance(v, np.ndarray) for v in state.values()):
        raise ValueError("the archive does not hold a dict of tensors")
    return state
