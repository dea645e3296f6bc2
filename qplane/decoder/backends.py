"""What runs the pre-decoder network: torch, or ONNX Runtime (float or int8) on any accelerator.

A *network backend* turns syndrome volumes into the network's logits at the decoder's sites.
Both backends take ``float32 (batch, 4, t, rows, cols)`` volumes and return ``float32
(batch, num_sites)`` logits (the network's output gathered at the sites' flat indices), and say
what they run on (:attr:`backend`, :attr:`device`) so that the run file can record it.

- ``torch``: the model's own ``torch.nn.Module`` under ``torch.inference_mode`` in
  ``channels_last_3d`` memory format (about 1.7x faster than contiguous for 3D convolutions on
  CPU), on the torch device the decoder was given.
- ``onnx``: the network exported to ONNX (:mod:`qplane.decoder.onnx_export`) and run by ONNX
  Runtime. The execution provider is chosen from those installed (:func:`onnx_providers`):
  CUDA, ROCm, OpenVINO or DirectML when present, else the CPU. ``precision="int8"`` quantises
  the graph statically (QOperator format: ``QLinearConv``; weights int8 per channel,
  activations uint8) with activation ranges calibrated on syndrome volumes sampled from the
  DEM the decoder is compiled for (a fixed seed, so the same DEM always gives the same model).

>>> onnx_providers("cpu", available=["CUDAExecutionProvider", "CPUExecutionProvider"])
['CPUExecutionProvider']
>>> onnx_providers("auto", available=["AzureExecutionProvider", "CUDAExecutionProvider",
...                                   "CPUExecutionProvider"])
['CUDAExecutionProvider', 'CPUExecutionProvider']
"""

from __future__ import annotations

import io
import logging
from typing import Iterable, Sequence

import numpy as np
import torch

from qplane.errors import ConfigError, DecoderError

#: Network backends a neural decoder may use.
BACKENDS = ("torch", "onnx")
#: Numeric precisions of the ONNX backend.
PRECISIONS = ("fp32", "int8")
#: ONNX Runtime execution providers in order of preference (the CPU last).
PROVIDER_PREFERENCE = ("CUDAExecutionProvider", "ROCMExecutionProvider",
                       "OpenVINOExecutionProvider", "DmlExecutionProvider", "CPUExecutionProvider")
_PROVIDER_DEVICE = {"CUDAExecutionProvider": "cuda", "ROCMExecutionProvider": "rocm",
                    "OpenVINOExecutionProvider": "openvino", "DmlExecutionProvider": "dml",
                    "CPUExecutionProvider": "cpu"}
#: Seed of the DEM shots that calibrate int8 activation ranges (outside training/test seeds).
CALIBRATION_SEED = 2**43
CALIBRATION_SHOTS = 512


def calibration_volumes(dem, geometry) -> list[np.ndarray]:
    """The int8 calibration set: :data:`CALIBRATION_SHOTS` shots sampled from ``dem`` (seed
    :data:`CALIBRATION_SEED`) as ``geometry``'s volumes, 128 shots each."""
    shots = dem.compile_sampler(seed=CALIBRATION_SEED).sample(CALIBRATION_SHOTS)[0]
    return [geometry.volume(shots[i:i + 128]) for i in range(0, len(shots), 128)]


def onnx_providers(device: str, *, available: Sequence[str] | None = None) -> list[str]:
    """ONNX Runtime providers for a decoder ``device`` option, best first.

    ``"auto"``: every installed provider of :data:`PROVIDER_PREFERENCE`, in that order;
    ``"cpu"``: the CPU only; ``"cuda[:n]"`` / ``"hip[:n]"``: CUDA / ROCm, then the CPU for
    operators the accelerator lacks.

    Raises:
        ConfigError: the device asks for a provider that is not installed.
    """
    if available is None:
        import onnxruntime

        available = onnxruntime.get_available_providers()
    kind = device.split(":")[0]
    if kind == "auto":
        return [p for p in PROVIDER_PREFERENCE if p in available] or ["CPUExecutionProvider"]
    if kind == "cpu":
        return ["CPUExecutionProvider"]
    wanted = {"cuda": "CUDAExecutionProvider", "hip": "ROCMExecutionProvider"}.get(kind)
    if wanted is None or wanted not in available:
        raise ConfigError(
            f"device {device!r} with backend 'onnx': ONNX Runtime here has providers "
            f"{list(available)}; install the onnxruntime build for that accelerator "
            "(e.g. onnxruntime-gpu) or use device 'auto' or 'cpu'", key="device")
    return [wanted, "CPUExecutionProvider"]


class TorchNetwork:
    """The torch module, run in inference mode (``channels_last_3d``)."""

    backend = "torch"

    def __init__(self, net: torch.nn.Module, device: torch.device):
        self.net = net.eval()
        self.device_obj = device
        self.device = str(device)

    def site_logits(self, volume: np.ndarray, site_index: np.ndarray) -> np.ndarray:
        """``float32 (batch, num_sites)`` logits for ``float32 (batch, 4, t, rows, cols)``."""
        with torch.inference_mode():
            x = torch.from_numpy(volume).to(self.device_obj)
            x = x.to(memory_format=torch.channels_last_3d)
            logits = self.net(x).reshape(x.shape[0], -1)
            index = torch.as_tensor(site_index, device=self.device_obj)
            return logits[:, index].float().cpu().numpy()


class OnnxNetwork:
    """An ONNX Runtime session of the exported network (float or int8).

    With ``site_index``, the graph itself gathers the sites (:func:`site_graph_bytes`): its
    output is already ``(batch, num_sites)``, for those sites only. ``graph`` says how the
    network was written: ``"3d"`` (every output), ``"3d-sites"`` (3D convolutions, sites
    gathered) or ``"planar"`` (a factorised network as 2D convolutions, sites gathered;
    :mod:`qplane.decoder.onnx_planar`).
    """

    def __init__(self, session, *, precision: str, site_index: np.ndarray | None = None,
                 graph: str = "3d"):
        self.session = session
        self.graph = graph
        self.precision = precision
        self.site_index = None if site_index is None else np.asarray(site_index)
        provider = session.get_providers()[0]
        options = session.get_provider_options().get(provider, {})
        kind = _PROVIDER_DEVICE.get(provider, provider)
        index = options.get("device_id")
        self.device = f"{kind}:{index}" if index is not None and kind in ("cuda", "rocm") else kind
        self.backend = "onnx" if precision == "fp32" else f"onnx-{precision}"

    def site_logits(self, volume: np.ndarray, site_index: np.ndarray) -> np.ndarray:
        """``float32 (batch, num_sites)`` logits for ``float32 (batch, 4, t, rows, cols)``."""
        logits = self.session.run(["logits"], {"volume": np.ascontiguousarray(volume)})[0]
        if self.site_index is not None:
            if site_index is not self.site_index and not np.array_equal(site_index, self.site_index):
                raise DecoderError("this ONNX network gathers other sites; build it for these")
            return logits
        return np.ascontiguousarray(logits.reshape(volume.shape[0], -1)[:, site_index],
                                    dtype=np.float32)


def onnx_bytes(net: torch.nn.Module) -> bytes:
    """The network as an ONNX graph (dynamic batch and volume shape), in memory."""
    from qplane.decoder.onnx_export import export_onnx

    buffer = io.BytesIO()
    export_onnx(net, buffer)
    return buffer.getvalue()


class _SiteLogits(torch.nn.Module):
    """The network followed by the gather of its sites, class axis last.

    ``site_index`` indexes the ``(classes, t, rows, cols)`` output; the graph computes it in
    ``(t, rows, cols, classes)`` order, which is the layout ONNX Runtime's CPU convolutions
    produce (NHWC), so no transpose back is needed before the gather.
    """

    def __init__(self, net: torch.nn.Module, site_index: np.ndarray, shape: tuple[int, ...]):
        super().__init__()
        self.net = net
        classes = int(net.num_classes)
        slots = int(np.prod(shape))
        index = np.asarray(site_index, dtype=np.int64)
        self.register_buffer("index", torch.as_tensor((index % slots) * classes + index // slots))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.net(x).permute(0, 2, 3, 4, 1)
        return y.reshape(y.shape[0], -1).index_select(1, self.index)


def site_graph_bytes(net: torch.nn.Module, site_index: np.ndarray,
                     shape: tuple[int, int, int]) -> bytes:
    """The network with its site gather as an ONNX graph for volumes of ``shape`` (dynamic batch).

    The output ``logits`` is ``float32 (batch, num_sites)``: a DEM's sites are a few percent
    of the network's outputs, so this spares the runtime writing (and the int8 graph
    dequantising) the rest.
    """
    return site_module_bytes(lambda cpu_net: _SiteLogits(cpu_net, site_index, shape), net, shape)


def site_module_bytes(wrap, net: torch.nn.Module, shape: tuple[int, int, int]) -> bytes:
    """The ONNX graph of ``wrap(net)`` (a site-logits module around a CPU copy of ``net``).

    The one export both site graphs share (:func:`site_graph_bytes` and the planar graph of
    :mod:`qplane.decoder.onnx_planar`): input ``volume`` ``float32 (batch, 4, *shape)``, output
    ``logits``, batch dynamic, opset 17. ``net`` itself is not touched.
    """
    import copy
    import warnings

    from qplane.decoder.volume import INPUT_CHANNELS

    cpu_net = copy.deepcopy(net).to("cpu").to(memory_format=torch.contiguous_format).eval()
    module = wrap(cpu_net).eval()
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (torch.zeros((1, len(INPUT_CHANNELS)) + tuple(shape)),), buffer,
                          input_names=["volume"], output_names=["logits"],
                          dynamic_axes={"volume": {0: "batch"}, "logits": {0: "batch"}},
                          opset_version=17, dynamo=False)
    return buffer.getvalue()


def _gather_before_dequantize(model: bytes) -> bytes:
    """Move the int8 graph's final ``DequantizeLinear`` after its site ``Gather``.

    The quantiser dequantises the whole network output and then gathers; dequantising is
    elementwise with one scale, so gathering the uint8 values first gives the same numbers for
    a few percent of the work. Graphs of another shape are returned unchanged.
    """
    import onnx

    proto = onnx.load_from_string(model)
    nodes = list(proto.graph.node)
    gather = next((n for n in nodes if n.op_type == "Gather" and "logits" in n.output), None)
    if gather is None:
        return model
    dequant = next((n for n in nodes if n.op_type == "DequantizeLinear"
                    and n.output[0] == gather.input[0]), None)
    if dequant is None or sum(gather.input[0] in n.input for n in nodes) != 1:
        return model
    gathered = gather.output[0] + "_quantized"
    gather.input[0], gather.output[0] = dequant.input[0], gathered
    dequant.input[0], dequant.output[0] = gathered, "logits"
    # Topological order: the gather now comes before the dequantise.
    order = [n for n in nodes if n is not dequant and n is not gather]
    del proto.graph.node[:]
    proto.graph.node.extend(order + [gather, dequant])
    return proto.SerializeToString()


def int8_saturates(cpu_flags: Iterable[str] | None = None) -> bool:
    """Whether ONNX Runtime's uint8 x int8 CPU kernels may saturate on this machine.

    On x86-64 without VNNI (AVX2 or plain AVX-512), ONNX Runtime computes ``QLinearConv`` with
    ``VPMADDUBSW``, which adds pairs of uint8 x int8 products into int16 and saturates: a few
    logits come out far from the float network's (ONNX Runtime's quantisation documentation
    names this). CPUs with VNNI (``avx512_vnni``, ``avx_vnni``), and other architectures, do
    not. ``cpu_flags`` defaults to this machine's (``/proc/cpuinfo``; an x86 machine whose
    flags cannot be read counts as saturating).

    >>> int8_saturates(["avx2", "fma"]), int8_saturates(["avx2", "avx512_vnni"])
    (True, False)
    """
    if cpu_flags is None:
        import platform

        if platform.machine().lower() not in ("x86_64", "amd64", "i386", "i686"):
            return False
        try:
            with open("/proc/cpuinfo") as f:
                cpu_flags = next((line.split(":", 1)[1].split() for line in f
                                  if line.startswith("flags")), [])
        except OSError:
            cpu_flags = []
    return not {"avx512_vnni", "avx_vnni"} & set(cpu_flags)


def quantize_int8(model: bytes, calibration: Iterable[np.ndarray]) -> bytes:
    """Statically quantise an ONNX graph to int8, calibrated on ``calibration`` volumes.

    Weights int8 per output channel, activations uint8 with min-max ranges, QOperator format
    (``QLinearConv``), which ONNX Runtime's CPU kernels run with VNNI where present.
    """
    import os
    import tempfile

    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)

    class _Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._batches = iter([{"volume": np.ascontiguousarray(v, dtype=np.float32)}
                                  for v in calibration])

        def get_next(self):
            return next(self._batches, None)

    # quantize_static works on files; its pre-processing advice is logged, not needed here.
    with tempfile.TemporaryDirectory(prefix="qplane-int8-") as tmp:
        src, dst = os.path.join(tmp, "fp32.onnx"), os.path.join(tmp, "int8.onnx")
        with open(src, "wb") as f:
            f.write(model)
        logger = logging.getLogger()
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            quantize_static(src, dst, _Reader(), quant_format=QuantFormat.QOperator,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            per_channel=True)
        except Exception as e:  # onnxruntime raises plain exceptions of many kinds
            raise DecoderError(f"int8 quantisation of the network failed: {e}; use "
                               "precision 'fp32'") from e
        finally:
            logger.setLevel(level)
        with open(dst, "rb") as f:
            return f.read()


def onnx_session(model: bytes, *, device: str = "auto", threads: int | None = None):
    """An ONNX Runtime session for ``model`` on the best provider for ``device``.

    ``threads`` sets the intra-op thread pool (``None``: ONNX Runtime's default, one per
    physical core); inter-op parallelism is off (the graph is a chain).
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    if threads:
        options.intra_op_num_threads = int(threads)
    providers = onnx_providers(device)
    index = device.split(":")[1] if ":" in device else None
    provider_options = [({"device_id": int(index)} if index is not None and p != "CPUExecutionProvider"
                         else {}) for p in providers]
    try:
        return onnxruntime.InferenceSession(model, options, providers=providers,
                                            provider_options=provider_options)
    except Exception as e:  # noqa: BLE001 - onnxruntime raises its own untyped errors
        raise DecoderError(f"ONNX Runtime could not load the network on {providers}: {e}") from e


def build_network(net: torch.nn.Module, *, backend: str, device: str, torch_device: torch.device,
                  precision: str = "fp32", threads: int | None = None,
                  calibration: Iterable[np.ndarray] | None = None,
                  site_index: np.ndarray | None = None,
                  shape: tuple[int, int, int] | None = None,
                  planar: bool | None = None) -> TorchNetwork | OnnxNetwork:
    """The network backend a decoder's options ask for.

    Args:
        net: the loaded torch module.
        backend: ``"torch"`` or ``"onnx"``.
        device: the decoder's ``device`` option (``"auto"``, ``"cpu"``, ``"cuda:0"``, ...).
        torch_device: ``device`` as torch resolved it (the torch backend runs there).
        precision: ``"fp32"``, or ``"int8"`` (ONNX only).
        threads: intra-op threads (ONNX session; torch: ``torch.set_num_threads``, which is
            process-wide).
        calibration: volumes that calibrate int8 activation ranges (needed for ``"int8"``).
        site_index, shape: the DEM's sites and volume shape; with both, the ONNX graph
            gathers the sites itself (:func:`site_graph_bytes`), else it returns every output.
        planar: write a factorised network's ONNX graph with 2D convolutions
            (:mod:`qplane.decoder.onnx_planar`); ``None``: whenever it can (factorised ReLU
            spec, sites and shape given); ``False``: the 3D graph (for comparisons).

    Raises:
        ConfigError: an unknown backend or precision, or int8 asked of torch.
    """
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}",
                          key="backend")
    if precision not in PRECISIONS:
        raise ConfigError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}",
                          key="precision")
    if backend == "torch":
        if precision != "fp32":
            raise ConfigError("precision 'int8' needs backend 'onnx' (torch runs fp32)",
                              key="precision")
        if threads:
            torch.set_num_threads(int(threads))
        return TorchNetwork(net, torch_device)
    from qplane.decoder.onnx_planar import channels_last_int8, is_factorised, planar_graph_bytes

    gathers = site_index is not None and shape is not None
    # Factorised specs as 2D convolutions (~1.7x faster int8 on the CPU), where the graph is
    # built for one volume shape; other specs (3x3x3 kernels) as 3D ones.
    can = gathers and is_factorised(net) and net.spec.activation == "relu"
    planar = can if planar is None else (bool(planar) and can)
    if planar:
        model = planar_graph_bytes(net, site_index, shape)
    else:
        model = site_graph_bytes(net, site_index, shape) if gathers else onnx_bytes(net)
    if precision == "int8":
        if calibration is None:
            raise DecoderError("int8 needs calibration volumes")
        model = quantize_int8(model, calibration)
        on_cpu = onnx_providers(device)[0] == "CPUExecutionProvider"
        if on_cpu and int8_saturates():
            logging.getLogger(__name__).warning(
                "int8 on a CPU without VNNI: ONNX Runtime's uint8 x int8 kernels saturate "
                "here, so some logits differ from the float network's by more than the stated "
                "bound; use precision 'fp32' on this machine, or a CPU with VNNI")
        if planar and on_cpu:
            model = channels_last_int8(model, shape)  # channels-last QLinearConv: CPU kernels
        elif gathers:
            model = _gather_before_dequantize(model)
    return OnnxNetwork(onnx_session(model, device=device, threads=threads), precision=precision,
                       site_index=site_index if gathers else None,
                       graph="planar" if planar else ("3d-sites" if gathers else "3d"))
