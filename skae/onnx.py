"""Export fitted skae estimators to ONNX, for serving without Python or torch.

Needs the ``onnx`` extra (from a clone: ``pip install -e ".[onnx]"``):
skl2onnx, onnx, onnxruntime, and onnxscript, which torch's ONNX exporter runs
on. skae itself never imports this module; importing it registers a
skl2onnx converter for every skae estimator, so that skl2onnx converts them
alone and inside pipelines (:class:`~skae.AutoencoderOutlierDetector` too,
when its model scores by reconstruction error; :class:`~skae.AutoencoderImputer`
is refused with an :class:`ExportError` that says what to do instead)::

    import skl2onnx
    import skae.onnx  # noqa: F401  (registers the converters)

    onx = skl2onnx.to_onnx(pipeline, X[:1].astype(np.float32))

The converted ``transform`` is the estimator's: the normalisation
(``X / scale_ - offset_ / scale_``), then the encoder and the code head in
eval mode (the posterior mean for :class:`~skae.VAETransformer`; the RMS
pinning of ``penalty="l1"`` with its running estimate). The network is
exported with ``torch.export`` (non-strict) and torch's ONNX exporter
(``torch.onnx.export(..., dynamo=True)``), then spliced into skl2onnx's
graph. :func:`to_onnx_inverse` gives ``inverse_transform`` as a model of its
own: the decoder, the output map (a sigmoid for ``loss_="bce"``) and the
de-normalisation ``Z * scale_ + offset_``.

An :class:`~skae.AutoencoderOutlierDetector` converts as skl2onnx converts
scikit-learn's ``IsolationForest``: two outputs of shape ``(N, 1)``,
``"label"`` (``predict``: -1 for outliers, +1 for inliers, int64) and
``"scores"`` (``decision_function``: minus the mean squared reconstruction
error in X's units, computed in float64, minus ``offset_``). Its model must
score by reconstruction error (every skae estimator but
:class:`~skae.VAETransformer`, whose ``score_samples`` is the ELBO).

Opset: the one skl2onnx targets (``target_opset``; its default, the latest
opset it is tested with), which must be at least :data:`MIN_OPSET`, the
oldest torch's exporter writes.

Inputs are float32 or float64 (skl2onnx takes the type from the sample
passed to ``to_onnx``). The network runs in float32 either way: float64 rows
are normalised in float64, cast to float32 for the network, and its output
cast back to float64 (skae's own float64 ``transform`` on the CPU runs a
float64 copy of the network; the two agree to float32's precision). Dense
input only.
"""

import copy
import logging
import re
import traceback
import warnings
from contextlib import contextmanager

import numpy as np
import torch

try:
    import onnx
    import onnxscript  # noqa: F401  (torch's ONNX exporter runs on it)
    from onnx import TensorProto, helper, numpy_helper
    from skl2onnx import get_latest_tested_opset_version, update_registered_converter
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
    )
    from skl2onnx.common.utils import (
        check_input_and_output_numbers,
        check_input_and_output_types,
    )
except ImportError as exc:
    raise ImportError(
        f"skae.onnx needs the onnx extra ({exc}): from a clone of skae, "
        'pip install -e ".[onnx]" (skl2onnx, onnx, onnxruntime, onnxscript).'
    ) from exc
from sklearn.utils.validation import check_is_fitted

import skae

from ._base import BaseAutoencoder
from ._inference import view

__all__ = ["MIN_OPSET", "ExportError", "estimator_classes", "to_onnx_inverse"]

#: The oldest opset torch's ``torch.export``-based ONNX exporter writes.
MIN_OPSET = 18

#: Rows of the example batch the network is traced with (the batch size
#: stays dynamic; 2 rather than 1, which torch.export would specialise).
_EXAMPLE_ROWS = 2


class ExportError(RuntimeError):
    """A fitted model that skae.onnx cannot export to ONNX.

    For a network torch cannot export, the message names the module that
    failed (its path in the network, e.g. ``'encoder.2'``, and its class)
    and why; for an estimator with no ONNX counterpart
    (:class:`~skae.AutoencoderImputer`, an
    :class:`~skae.AutoencoderOutlierDetector` around a
    :class:`~skae.VAETransformer`), it names the estimator and what to
    export instead.
    """


def estimator_classes():
    """List the skae estimator classes that skae.onnx registers.

    They are discovered from ``skae.__all__``: every public subclass of
    skae's shared estimator base class.

    Returns
    -------
    classes : list of type
        The estimator classes, in ``skae.__all__``'s order.
    """
    return [
        obj
        for name in skae.__all__
        if isinstance(obj := getattr(skae, name), type)
        and issubclass(obj, BaseAutoencoder)
    ]


# --------------------------------------------------------- torch -> ONNX


class _Part(torch.nn.Module):
    """One direction of a fitted network as a module of its own:
    ``encode`` (normalised rows -> code) or ``decode`` (code -> the decoder's
    mean in normalised units), through the estimator's own hooks."""

    def __init__(self, estimator, network, direction):
        super().__init__()
        self.network = network
        self.direction = direction
        # a plain attribute, not a submodule: the estimator is no module
        self._step = (
            estimator._encode if direction == "encode" else estimator._decode_mean
        )

    def forward(self, x):
        return self._step(self.network, x)


@contextmanager
def _quiet_exporter():
    """Silence the exporter's chatter that says nothing about the model
    (optional torchvision ops, a deprecation inside torch)."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*LeafSpec.*")
            yield
    finally:
        logger.setLevel(level)


def _module_path(name):
    """How a message names a module of skae's network."""
    return f"'{name}'" if name else "the whole network"


def _failing_module(exc, network):
    """(path, class name) of the innermost module of ``network`` whose
    ``forward`` was running when ``exc`` was raised, or None."""
    names = {id(m): name for name, m in network.named_modules()}
    found = None
    for error in _chain(exc):
        for frame, _ in traceback.walk_tb(error.__traceback__):
            module = frame.f_locals.get("self")
            if id(module) in names:
                found = (names[id(module)], type(module).__name__)
        if found is not None:
            return found
    return found


def _chain(exc):
    """``exc`` and the exceptions it was raised from, outermost first."""
    seen = []
    while exc is not None and all(exc is not e for e in seen):
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def _first_line(exc):
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _export_error(estimator, direction, network, where, reason):
    part = "encoder" if direction == "encode" else "decoder"
    if where is None:
        culprit = f"the {part} side of the network ({type(network).__name__})"
    else:
        path, kind = where
        culprit = f"module {_module_path(path)} ({kind})"
    return ExportError(
        f"Cannot export the {part} of {type(estimator).__name__} to ONNX: "
        f"{culprit} {reason}"
    )


def _trace_reason(exc):
    return (
        f"failed in torch.export: {_first_line(exc)}\nskae exports with "
        "torch.export (non-strict), which runs forward on symbolic tensors: a "
        "forward that branches in Python on tensor values, calls .item() or "
        ".tolist(), or converts to numpy cannot be exported. Write it with "
        "tensor operations (torch.where instead of if, torch functions instead "
        "of numpy)."
    )


def _conversion_failure(exc, exported):
    """(where, reason) for a failure of torch's ONNX exporter: the operator it
    could not translate and the module (path, class name) that uses it, read
    off the exported program's module stack (where None if not found)."""
    chain = _chain(exc)
    text = "\n".join(str(e) for e in chain)
    match = re.search(r"target=torch\.ops\.(\w+)\.(\w+)", text)
    if match is None:
        return None, f"failed in torch's ONNX exporter: {_first_line(chain[-1])}"
    namespace, op = match.groups()
    reason = (
        f"uses the operator {namespace}.{op}, which torch's ONNX exporter "
        f"cannot translate:\n{_first_line(chain[-1])}\nReplace that operation "
        "with ones torch exports."
    )
    for node in exported.graph.nodes:
        target = getattr(node.target, "__name__", str(node.target))
        if target.split(".")[0].lstrip("_") != op.lstrip("_"):
            continue
        stack = node.meta.get("nn_module_stack") or {}
        if stack:
            path, kind = list(stack.values())[-1]
            path = path.removeprefix("network").lstrip(".")
            kind = kind if isinstance(kind, str) else kind.__qualname__
            return (path, kind.rsplit(".", 1)[-1]), reason
    return None, reason


def _torch_to_onnx(estimator, direction, opset):
    """One direction of the fitted network as an ONNX ModelProto, input
    ``(batch, width)`` float32, batch dynamic, at ``opset``."""
    network = copy.deepcopy(estimator.net_.module_).float().cpu().eval()
    part = _Part(estimator, network, direction).eval()
    width = (
        estimator.n_features_in_ if direction == "encode" else estimator.n_components_
    )
    example = (torch.zeros(_EXAMPLE_ROWS, width, dtype=torch.float32),)
    batch = torch.export.Dim("batch")
    with _quiet_exporter():
        try:
            exported = torch.export.export(
                part, example, dynamic_shapes=({0: batch},), strict=False
            )
        except Exception as exc:
            raise _export_error(
                estimator,
                direction,
                network,
                _failing_module(exc, network),
                _trace_reason(exc),
            ) from exc
        try:
            program = torch.onnx.export(
                exported, example, dynamo=True, opset_version=opset, verbose=False
            )
        except Exception as exc:
            raise _export_error(
                estimator, direction, network, *_conversion_failure(exc, exported)
            ) from exc
    model = program.model_proto
    if model.functions:
        model = onnx.inliner.inline_local_functions(model)
    return model


# ------------------------------------------------------------ graph builder


class _Builder:
    """Adds nodes and initializers to a skl2onnx container (with its scope
    naming them) or, without one, to lists for a model of its own."""

    def __init__(self, opset, scope=None, container=None):
        self.opset = opset
        self.scope = scope
        self.container = container
        self.nodes, self.initializers, self.opsets = [], [], {}
        self._names = set()

    def name(self, hint):
        """A value name not used before in this graph."""
        if self.scope is not None:
            return self.scope.get_unique_variable_name(hint)
        return self._unique(hint)

    def node_name(self, hint):
        if self.scope is not None:
            return self.scope.get_unique_operator_name(hint)
        return self._unique(hint)

    def _unique(self, hint):
        hint = re.sub(r"\W", "_", hint) or "v"
        name, i = hint, 0
        while name in self._names:
            i += 1
            name = f"{hint}_{i}"
        self._names.add(name)
        return name

    def add_node(self, node, domain="", version=None):
        version = self.opset if version is None and domain == "" else version
        if self.container is not None:
            self.container.nodes.append(node)
            self.container.node_domain_version_pair_sets.add((domain, version))
        else:
            self.nodes.append(node)
            self.opsets[domain] = max(self.opsets.get(domain, 0), version)

    def node(self, op_type, inputs, hint, **attrs):
        """Add one node of the default domain; return its output's name."""
        output = self.name(hint)
        self.add_node(
            helper.make_node(
                op_type, inputs, [output], name=self.node_name(op_type), **attrs
            )
        )
        return output

    def constant(self, hint, array):
        """Add an initializer holding ``array``; return its name."""
        name = self.name(hint)
        self._add_initializer(numpy_helper.from_array(np.asarray(array), name))
        return name

    def _add_initializer(self, tensor):
        if self.container is not None:
            self.container.initializers.append(tensor)
        else:
            self.initializers.append(tensor)

    def splice(self, model, x, hint):
        """Add ``model``'s graph (one input, one output) reading ``x``;
        return the name of its output. Every name is renamed to a fresh one."""
        graph = model.graph
        (graph_input,) = graph.input
        (graph_output,) = graph.output
        versions = {o.domain: o.version for o in model.opset_import}
        names = {graph_input.name: x}

        def rename(name):
            if name == "":  # an omitted optional input
                return name
            if name not in names:
                names[name] = self.name(f"{hint}_{name}")
            return names[name]

        for tensor in graph.initializer:
            array = numpy_helper.to_array(tensor)
            self._add_initializer(numpy_helper.from_array(array, rename(tensor.name)))
        for node in graph.node:
            if any(
                a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
                for a in node.attribute
            ):
                raise ExportError(
                    f"The exported network has a {node.op_type} node with a "
                    "subgraph (control flow), which skae.onnx does not merge."
                )
            copied = onnx.NodeProto()
            copied.CopyFrom(node)
            del copied.input[:]
            del copied.output[:]
            copied.input.extend(rename(n) for n in node.input)
            copied.output.extend(rename(n) for n in node.output)
            copied.name = self.node_name(f"{hint}_{node.op_type}")
            self.add_node(copied, node.domain, versions.get(node.domain, 1))
        return rename(graph_output.name)


_ONNX_TYPES = {np.float32: TensorProto.FLOAT, np.float64: TensorProto.DOUBLE}


def _normalised(builder, x, estimator, dtype):
    """x / scale_ - offset_ / scale_ in the input's dtype (as skae's
    transform computes it), cast to float32 for the network."""
    scale = builder.constant("skae_scale", np.array(estimator.scale_, dtype=dtype))
    shift = builder.constant(
        "skae_shift", (estimator.offset_ / estimator.scale_).astype(dtype)
    )
    scaled = builder.node("Div", [x, scale], "skae_scaled")
    normalised = builder.node("Sub", [scaled, shift], "skae_normalised")
    if dtype == np.float64:
        normalised = builder.node(
            "Cast", [normalised], "skae_normalised32", to=TensorProto.FLOAT
        )
    return normalised


def _encode_graph(builder, x, estimator, dtype):
    """Add the estimator's transform reading ``x``; return the code's name."""
    model = _torch_to_onnx(estimator, "encode", builder.opset)
    code = builder.splice(model, _normalised(builder, x, estimator, dtype), "enc")
    if dtype == np.float64:
        code = builder.node("Cast", [code], "skae_code64", to=TensorProto.DOUBLE)
    return code


def _decode_graph(builder, z, estimator, dtype):
    """Add the estimator's inverse_transform reading codes ``z``; return the
    reconstruction's name (in ``dtype``)."""
    model = _torch_to_onnx(estimator, "decode", builder.opset)
    if dtype == np.float64:
        z = builder.node("Cast", [z], "skae_code32", to=TensorProto.FLOAT)
    mean = builder.splice(model, z, "dec")
    # out * scale_ + offset_ as skae computes it: the product in the
    # network's dtype, the sum in float64, then the input's dtype
    if dtype == np.float64:
        mean = builder.node("Cast", [mean], "skae_mean64", to=TensorProto.DOUBLE)
    scale = builder.constant("skae_scale", np.array(estimator.scale_, dtype=dtype))
    scaled = builder.node("Mul", [mean, scale], "skae_rescaled")
    if dtype == np.float32:
        scaled = builder.node(
            "Cast", [scaled], "skae_rescaled64", to=TensorProto.DOUBLE
        )
    offset = builder.constant("skae_offset", np.asarray(estimator.offset_, np.float64))
    out = builder.node("Add", [scaled, offset], "skae_denormalised")
    if dtype == np.float32:
        out = builder.node("Cast", [out], "skae_denormalised32", to=TensorProto.FLOAT)
    return out


def _check_opset(opset):
    if opset is None:
        return get_latest_tested_opset_version()
    if opset < MIN_OPSET:
        raise ValueError(
            f"skae.onnx exports with torch's ONNX exporter, which writes opset "
            f"{MIN_OPSET} or later; got target_opset={opset}."
        )
    return opset


def _dtype_of(variable_type):
    if isinstance(variable_type, DoubleTensorType):
        return np.float64
    return np.float32


# ------------------------------------------------------- skl2onnx converter


def _shape_calculator(operator):
    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=1)
    check_input_and_output_types(
        operator, good_input_types=[FloatTensorType, DoubleTensorType]
    )
    estimator = operator.raw_operator
    check_is_fitted(estimator)  # skl2onnx asks for the shapes first
    _refuse_table(estimator)
    input_type = operator.inputs[0].type
    shape = _checked_input_shape(estimator, input_type)
    operator.outputs[0].type = type(input_type)([shape[0], estimator.n_components_])


def _checked_input_shape(estimator, input_type):
    """The ONNX input's shape, checked against the fitted width."""
    shape = input_type.shape
    if len(shape) == 2 and isinstance(shape[1], int):
        if shape[1] != estimator.n_features_in_:
            raise ValueError(
                f"{type(estimator).__name__} was fitted on "
                f"{estimator.n_features_in_} features; the ONNX input has "
                f"{shape[1]}."
            )
    return shape


def _converter(scope, operator, container):
    estimator = _fitted_snapshot(operator.raw_operator)
    opset = _check_opset(container.target_opset)
    builder = _Builder(opset, scope, container)
    dtype = _dtype_of(operator.inputs[0].type)
    code = _encode_graph(builder, operator.inputs[0].full_name, estimator, dtype)
    builder.add_node(
        helper.make_node(
            "Identity",
            [code],
            [operator.outputs[0].full_name],
            name=builder.node_name("skae_code"),
        )
    )


def _fitted_snapshot(estimator):
    """The fitted state, read once (a refit in another thread cannot mix an
    old network with new statistics)."""
    check_is_fitted(estimator)
    _refuse_table(estimator)
    return view(estimator)


def _refuse_table(estimator):
    """A model fitted on a table (``table_``) encodes and decodes its
    columns in Python, which ONNX does not hold: a clear error with the way
    to export one."""
    if getattr(estimator, "table_", None) is not None:
        raise ExportError(
            f"skae.onnx exports models fitted on numeric arrays; this "
            f"{type(estimator).__name__} was fitted on a table (its table_ "
            "encodes categorical columns in Python, which an ONNX graph does "
            "not hold). To serve one through ONNX, fit a Pipeline of "
            "sklearn's ColumnTransformer (OneHotEncoder on the categorical "
            "columns, StandardScaler on the numeric ones) and the skae "
            "estimator on the encoded numbers: skl2onnx converts that whole."
        )


# ------------------------------------------- the outlier detector, the imputer


def _scored_by_reconstruction(detector):
    """The detector's fitted model, when its ``score_samples`` is minus the
    mean squared reconstruction error (skae's, not the VAE's ELBO); else a
    clear error saying what can be exported instead."""
    check_is_fitted(detector)
    model = detector.estimator_
    if not isinstance(model, BaseAutoencoder) or (
        type(model).score_samples is not BaseAutoencoder.score_samples
    ):
        raise ExportError(
            f"skae.onnx converts an AutoencoderOutlierDetector whose model "
            f"scores by reconstruction error (AutoencoderTransformer, "
            f"SparseAutoencoder, DenoisingAutoencoder, ContractiveAutoencoder); "
            f"this one's is a {type(model).__name__}, whose score_samples has "
            "no ONNX counterpart. Export its transform instead "
            "(skl2onnx.to_onnx(detector.estimator_, X[:1])) and score in Python."
        )
    return model


def _detector_shape_calculator(operator):
    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=2)
    check_input_and_output_types(
        operator, good_input_types=[FloatTensorType, DoubleTensorType]
    )
    model = _scored_by_reconstruction(operator.raw_operator)
    shape = _checked_input_shape(model, operator.inputs[0].type)
    # as skl2onnx's IsolationForest: the label and decision_function, (N, 1)
    operator.outputs[0].type = Int64TensorType([shape[0], 1])
    operator.outputs[1].type.shape = [shape[0], 1]


def _detector_converter(scope, operator, container):
    detector = operator.raw_operator
    model = _fitted_snapshot(_scored_by_reconstruction(detector))
    builder = _Builder(_check_opset(container.target_opset), scope, container)
    dtype = _dtype_of(operator.inputs[0].type)
    x = operator.inputs[0].full_name
    recon = _decode_graph(
        builder, _encode_graph(builder, x, model, dtype), model, dtype
    )
    # score_samples: minus the mean squared error over the features, in X's
    # units and in float64 (as skae computes it)
    if dtype == np.float32:
        x = builder.node("Cast", [x], "skae_x64", to=TensorProto.DOUBLE)
        recon = builder.node("Cast", [recon], "skae_recon64", to=TensorProto.DOUBLE)
    diff = builder.node("Sub", [x, recon], "skae_residual")
    squared = builder.node("Mul", [diff, diff], "skae_squared")
    axis = builder.constant("skae_feature_axis", np.array([1], dtype=np.int64))
    mse = builder.node("ReduceMean", [squared, axis], "skae_mse", keepdims=1)
    # decision_function: score_samples - offset_ = -(mse + offset_)
    offset = builder.constant("skae_offset", np.array(detector.offset_, np.float64))
    decision = builder.node(
        "Neg", [builder.node("Add", [mse, offset], "skae_mse_offset")], "skae_decision"
    )
    # predict: -1 below the threshold, +1 at or above it
    below = builder.node(
        "Less",
        [decision, builder.constant("skae_zero", np.zeros((), np.float64))],
        "skae_below",
    )
    label = builder.node(
        "Where",
        [
            below,
            builder.constant("skae_outlier", np.array(-1, np.int64)),
            builder.constant("skae_inlier", np.array(1, np.int64)),
        ],
        "skae_label",
    )
    if dtype == np.float32:
        decision = builder.node(
            "Cast", [decision], "skae_decision32", to=TensorProto.FLOAT
        )
    for value, output in (
        (label, operator.outputs[0]),
        (decision, operator.outputs[1]),
    ):
        builder.add_node(
            helper.make_node(
                "Identity", [value], [output.full_name], name=builder.node_name(value)
            )
        )


def _imputer_shape_calculator(operator):
    _refuse_imputer()


def _imputer_converter(scope, operator, container):
    _refuse_imputer()  # not reached: skl2onnx asks for the shapes first


def _refuse_imputer():
    raise ExportError(
        "skae.onnx does not convert AutoencoderImputer: its fill of the missing "
        "entries (the masked reconstruction, the placeholder, the indicator "
        "and empty-feature options) has no ONNX counterpart. Impute in Python "
        "(skae.save or pickle keep the fitted imputer), or export a pipeline "
        "whose imputer skl2onnx converts (SimpleImputer) before a skae "
        "transformer."
    )


def _register():
    for cls in estimator_classes():
        update_registered_converter(
            cls, f"Skae{cls.__name__}", _shape_calculator, _converter
        )
    update_registered_converter(
        skae.AutoencoderOutlierDetector,
        "SkaeAutoencoderOutlierDetector",
        _detector_shape_calculator,
        _detector_converter,
    )
    update_registered_converter(
        skae.AutoencoderImputer,
        "SkaeAutoencoderImputer",
        _imputer_shape_calculator,
        _imputer_converter,
    )


_register()


# ----------------------------------------------------------- the inverse


def to_onnx_inverse(estimator, X=None, *, target_opset=None):
    """Export a fitted estimator's ``inverse_transform`` as an ONNX model.

    The model maps codes to reconstructions in the units of the fitted
    data: the decoder (and skae's output head), the output map (a sigmoid
    for ``loss_="bce"``; the Bernoulli mean of a VAE) and the
    de-normalisation ``Z * scale_ + offset_``.

    Parameters
    ----------
    estimator : skae estimator
        A fitted skae estimator.
    X : array-like of shape (n_samples, n_components) or dtype, default=None
        Codes of the dtype the model is to take (float32 or float64), or
        that dtype itself; only the dtype is read. None means float32.
    target_opset : int, default=None
        The ONNX opset (default opset domain), at least :data:`MIN_OPSET`;
        None takes skl2onnx's default (the latest it is tested with).

    Returns
    -------
    model : onnx.ModelProto
        One input ``"X"`` of shape ``(N, n_components)`` and one output
        ``"X_original"`` of shape ``(N, n_features_in_)``, both of X's dtype.

    Raises
    ------
    ExportError
        When torch cannot export the decoder; the message names the module.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime as ort
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> from skae.onnx import to_onnx_inverse
    >>> X, _ = load_digits(return_X_y=True)
    >>> ae = AutoencoderTransformer(4, max_iter=2, random_state=0).fit(X)
    >>> onx = to_onnx_inverse(ae, np.float32)
    >>> session = ort.InferenceSession(onx.SerializeToString())
    >>> Z = ae.transform(X[:3].astype(np.float32))
    >>> session.run(None, {"X": Z})[0].shape
    (3, 64)
    """
    estimator = _fitted_snapshot(estimator)
    dtype = _requested_dtype(X)
    opset = _check_opset(target_opset)
    builder = _Builder(opset)
    z = "X"
    builder._names.update((z, "X_original"))
    out = _decode_graph(builder, z, estimator, dtype)
    builder.add_node(
        helper.make_node("Identity", [out], ["X_original"], name="skae_output")
    )
    elem = _ONNX_TYPES[dtype]
    graph = helper.make_graph(
        builder.nodes,
        f"skae_{type(estimator).__name__}_inverse_transform",
        [helper.make_tensor_value_info(z, elem, [None, estimator.n_components_])],
        [
            helper.make_tensor_value_info(
                "X_original", elem, [None, estimator.n_features_in_]
            )
        ],
        initializer=builder.initializers,
    )
    opsets = [helper.make_opsetid(d, v) for d, v in sorted(builder.opsets.items())]
    model = helper.make_model(
        graph,
        opset_imports=opsets,
        producer_name="skae",
        producer_version=skae.__version__,
        doc_string=f"inverse_transform of a fitted {type(estimator).__name__}",
    )
    model.ir_version = helper.find_min_ir_version_for(opsets)
    return model


def _requested_dtype(X):
    if X is None:
        return np.float32
    dtype = np.dtype(X if isinstance(X, type | np.dtype | str) else np.asarray(X).dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(
            f"to_onnx_inverse takes float32 or float64 codes; got dtype {dtype}."
        )
    return dtype.type
