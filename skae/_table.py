"""Tables: a mixed-type DataFrame (numeric, categorical, boolean and count
columns) as the float matrix an autoencoder trains on, and back.

:class:`TableEncoding` is fitted on a frame: it records each column's kind
and parameters, encodes a frame into a float64 matrix and decodes a
reconstruction (the decoder's means in the encoded units) back into a
pandas DataFrame with the original column order, names and dtypes. Its
:attr:`TableEncoding.likelihood` is the matching
:class:`~skae._objectives.TableLikelihood`, one term per column. Nothing
here knows about estimators; the estimators' base calls :func:`wants_table`,
:meth:`TableEncoding.fit`, :meth:`TableEncoding.encode` and
:meth:`TableEncoding.decode`.

The encoding of each column (its "kind", the likelihood it is read with):

- ``"gaussian"`` (numeric columns): ``(x - median) / scale``, the scale the
  interquartile range divided by 1.349 (the standard deviation of a normal
  column, but robust to heavy tails and outliers); the standard deviation
  where the interquartile range is 0 (a column mostly at one value), 1 where
  that is 0 too. One entry.
- ``"bernoulli"`` (boolean columns and categorical columns of two levels):
  one 0/1 entry, 1 for the second level (``True``).
- ``"categorical"``: a one-hot block over the fitted levels (the categories
  of a pandas ``category`` dtype, else the sorted values seen in fit).
- ``"poisson"`` (counts, only where ``column_likelihoods`` says so):
  the count divided by its mean in fit (1 for an all-zero column), one entry.
"""

import numbers

import numpy as np

from ._objectives import MIN_BASELINE, TableLikelihood

#: The kinds a column may be read as (``column_likelihoods``' values).
KINDS = ("gaussian", "bernoulli", "categorical", "poisson")

#: A categorical column with more levels than this is refused: its one-hot
#: block would hold that many floats a row (the training matrix, the
#: decoder's last layer) for what is most likely an identifier.
MAX_LEVELS = 1000

#: The interquartile range of a standard normal: IQR / 1.349 estimates the
#: standard deviation of a normal column.
IQR_TO_STD = 1.349


def _pandas():
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - pandas is in the test extra
        raise ImportError(
            "skae reads mixed-type tables with pandas; install it "
            "(pip install pandas), or encode the table into a numeric array."
        ) from exc
    return pd


def _container(X):
    """ "pandas", "polars" or "array": what kind of table X is."""
    module = type(X).__module__
    if module.startswith("pandas") and hasattr(X, "columns"):
        return "pandas"
    if module.startswith("polars") and hasattr(X, "columns"):
        return "polars"
    return "array"


def as_frame(X):
    """X as a pandas DataFrame (a polars frame converted, an array wrapped
    with the column positions as names), and the kind it came as."""
    pd = _pandas()
    kind = _container(X)
    if kind == "pandas":
        return X, kind
    if kind == "polars":
        return X.to_pandas(), kind
    array = np.asarray(X)
    if array.ndim != 2:
        raise ValueError(
            f"A table must be 2-D (n_samples, n_features); got shape {array.shape}."
        )
    return pd.DataFrame(array), kind


def _family(dtype):
    """The dtype family a column's values belong to: "number", "bool" or
    "label" (category, object, string)."""
    pd = _pandas()
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(dtype):
        return "label"
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    return "label"


def _value_family(value):
    """The family of one value of an object column: "str", "number",
    "bool" or its type's name."""
    if isinstance(value, bool | np.bool_):
        return "bool"
    if isinstance(value, str):
        return "str"
    if isinstance(value, numbers.Number):
        return "number"
    return type(value).__name__


def wants_table(X, categorical_features, column_likelihoods):
    """Whether X goes through the table path: ``column_likelihoods`` set, a
    ``categorical_features`` array that selects a column, or with
    ``"from_dtype"`` a DataFrame (pandas or polars) with a categorical,
    object, string or boolean column. A numeric array or numeric-only
    DataFrame at the defaults does not (the numeric path, unchanged)."""
    if column_likelihoods:
        return True
    if categorical_features is None:
        return False
    if isinstance(categorical_features, str):  # "from_dtype"
        kind = _container(X)
        if kind == "array":
            return False
        if kind == "polars":
            # a Boolean is not numeric in polars: it is read as Bernoulli
            return any(not dtype.is_numeric() for dtype in X.dtypes)
        return any(_family(dtype) != "number" for dtype in X.dtypes)
    mask = np.asarray(categorical_features)
    return mask.size > 0 and (mask.dtype.kind != "b" or bool(mask.any()))


def _categorical_mask(frame, categorical_features, from_frame):
    """Each column's categorical flag, from ``categorical_features`` as
    ``HistGradientBoostingRegressor`` reads it (None, "from_dtype", indices,
    names or a boolean mask)."""
    n = frame.shape[1]
    if categorical_features is None:
        return np.zeros(n, dtype=bool)
    if isinstance(categorical_features, str):
        return np.array([_family(d) == "label" for d in frame.dtypes])
    given = np.asarray(categorical_features)
    if given.size == 0:
        return np.zeros(n, dtype=bool)
    if given.dtype.kind not in "ibUO":
        raise ValueError(
            "categorical_features must be an array-like of bool, int or str, "
            f"got: {given.dtype.name}."
        )
    if given.dtype.kind in "UO":
        if not from_frame:
            raise ValueError(
                "categorical_features should be passed as an array of integers or "
                "as a boolean mask when the model is fitted on data without "
                "feature names."
            )
        names = [str(c) for c in frame.columns]
        mask = np.zeros(n, dtype=bool)
        for name in given:
            if str(name) not in names:
                raise ValueError(
                    f"categorical_features has a item value '{name}' which is not "
                    "a valid feature name of the training data. Observed feature "
                    f"names: {names}"
                )
            mask[names.index(str(name))] = True
        return mask
    if given.dtype.kind == "b":
        if given.shape != (n,):
            raise ValueError(
                "categorical_features set as a boolean mask must have shape "
                f"(n_features,), got: {given.shape}"
            )
        return given.copy()
    if np.any(given < 0) or np.any(given >= n):
        raise ValueError(
            "categorical_features set as integer indices must be in "
            f"[0, n_features - 1] = [0, {n - 1}]; got {given.tolist()}."
        )
    mask = np.zeros(n, dtype=bool)
    mask[given] = True
    return mask


class Column:
    """One column's fitted encoding: its ``name``, ``kind`` (one of
    :data:`KINDS`), ``dtype`` at fit, the ``start`` and ``width`` of its
    entries in the encoded matrix, ``center`` and ``scale`` (a numeric
    column's standardisation; a count's mean as ``scale``), ``levels``
    (the labels of a categorical or Bernoulli column, None otherwise) and
    ``weight``, its term's weight in the autoencoders' loss (see
    :class:`~skae._objectives.TableLikelihood`)."""

    def __init__(
        self, name, kind, dtype, start, width, center, scale, levels, weight=1.0
    ):
        self.name = name
        self.kind = kind
        self.dtype = dtype
        self.start = start
        self.width = width
        self.center = center
        self.scale = scale
        self.levels = levels
        self.weight = weight

    def __repr__(self):
        return f"Column({self.name!r}, {self.kind!r}, width={self.width})"


def _describe(name):
    return f"X's column {name!r}"


def _check_present(values, name, at):
    """Refuse a column with missing values (all of them, or some)."""
    pd = _pandas()
    missing = pd.isna(values)
    count = int(np.count_nonzero(missing))
    if count == len(values) and count:
        raise ValueError(
            f"{_describe(name)} has no values (all {count} missing){at}: it "
            "carries nothing to learn. Drop the column (X.drop(columns=...))."
        )
    if count:
        raise ValueError(
            f"{_describe(name)} has {count} missing value(s) (NaN/None){at}. "
            "skae's table path takes complete tables: impute them first (for "
            "example sklearn.impute.SimpleImputer, or AutoencoderImputer on "
            "the numeric columns), or drop those rows."
        )


def _check_finite(x, name):
    """Refuse infinite values in a numeric column."""
    if not np.isfinite(x).all():
        raise ValueError(
            f"{_describe(name)} holds infinite values. Replace them (for example "
            "clip the column to a finite range) or drop those rows."
        )


def _check_one_type(values, name):
    """Refuse an object column that mixes value types (1 and "a")."""
    if values.dtype != object:
        return
    families = {_value_family(v) for v in values}
    if len(families) > 1:
        raise ValueError(
            f"{_describe(name)} mixes values of several types ({sorted(families)}) "
            "in one object column. Convert it to one type first, for example "
            "X[col] = X[col].astype(str)."
        )


def _levels(series, name):
    """The fitted levels of a categorical column: a category dtype's
    categories, else the sorted distinct values."""
    pd = _pandas()
    if isinstance(series.dtype, pd.CategoricalDtype):
        levels = np.asarray(series.dtype.categories, dtype=object)
    else:
        levels = np.asarray(sorted(pd.unique(series.to_numpy())), dtype=object)
    if len(levels) > MAX_LEVELS:
        raise ValueError(
            f"{_describe(name)} has {len(levels)} levels, more than skae's limit "
            f"of {MAX_LEVELS} for a categorical column (its one-hot block would "
            f"hold {len(levels)} floats a row, and it is most likely an "
            "identifier). Drop it, group its rare levels into one, or read it as "
            f"numeric: categorical_features without it, or column_likelihoods="
            f"{{{name!r}: 'gaussian'}} for numeric values."
        )
    return levels


class TableEncoding:
    """A fitted encoding of a table's columns into one float matrix.

    Fit it with :meth:`fit`; :attr:`columns` holds one :class:`Column` a
    column, :attr:`width` the encoded width, :attr:`likelihood` the
    :class:`~skae._objectives.TableLikelihood` of the encoded matrix and
    :attr:`container` what the table came as ("pandas", "polars" or "array").
    """

    def __init__(self, columns, container):
        self.columns = columns
        self.container = container
        self.width = sum(c.width for c in columns)
        self.likelihood = TableLikelihood(
            [(c.kind, c.start, c.width) for c in columns],
            [c.scale for c in columns if c.kind == "poisson"],
            [c.weight for c in columns],
        )

    @property
    def names(self):
        """The column names, in order."""
        return [c.name for c in self.columns]

    @property
    def feature_names(self):
        """``feature_names_in_``: the names as an object array when every
        one is a string (scikit-learn's rule), else None."""
        if self.container == "array" or not all(isinstance(n, str) for n in self.names):
            return None
        return np.asarray(self.names, dtype=object)

    def gaussian_scales(self):
        """The scale of each Gaussian column (the VAE's log-Jacobian)."""
        return np.array([c.scale for c in self.columns if c.kind == "gaussian"])

    @classmethod
    def fit(cls, X, categorical_features="from_dtype", column_likelihoods=None):
        """The encoding of table ``X`` (pandas or polars DataFrame, or a 2-D
        array with ``categorical_features`` as indices or a mask). Every
        check runs here, before any training: each error names the column
        and the fix."""
        frame, container = as_frame(X)
        mask = _categorical_mask(frame, categorical_features, container != "array")
        chosen = dict(column_likelihoods or {})
        names = list(frame.columns)
        repeated = sorted({str(n) for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(
                f"X has repeated column names {repeated}: each column of a table "
                "needs its own name. Rename them (X.columns = [...])."
            )
        for key, kind in chosen.items():
            if key not in names:
                raise ValueError(
                    f"column_likelihoods names the column {key!r}, which X does "
                    f"not have (its columns: {names}). Name columns of X."
                )
            if kind not in KINDS:
                raise ValueError(
                    f"column_likelihoods[{key!r}]={kind!r} is not a likelihood "
                    f"skae knows; use one of {list(KINDS)}."
                )
        columns, start = [], 0
        for j, name in enumerate(names):
            series = frame.iloc[:, j]
            column = cls._fit_column(series, name, mask[j], chosen.get(name), start)
            columns.append(column)
            start += column.width
        # each column's weight: 1 / its term at its marginal (the baseline)
        unweighted = cls(columns, container)
        baselines = unweighted.likelihood.baselines(unweighted.encode_frame(frame))
        for column, baseline in zip(columns, baselines):
            column.weight = 1.0 / max(baseline, MIN_BASELINE)
        return cls(columns, container)

    @staticmethod
    def _fit_column(series, name, categorical, requested, start):
        values = series.to_numpy()
        _check_present(series, name, " in fit")
        family = _family(series.dtype)
        if family == "label":
            _check_one_type(values, name)
        kind = requested
        if kind is None:
            if categorical:
                kind = "categorical"
            elif family == "bool":
                kind = "bernoulli"
            elif family == "number":
                kind = "gaussian"
            else:
                raise ValueError(
                    f"{_describe(name)} holds labels ({series.dtype}) but "
                    "categorical_features does not mark it categorical. Add it to "
                    "categorical_features (or use categorical_features="
                    "'from_dtype'), or drop it."
                )
        if kind in ("gaussian", "poisson") and family != "number":
            raise ValueError(
                f"{_describe(name)} is {series.dtype}, not numeric, so it cannot "
                f"be read as {kind!r}. Use 'categorical' (or 'bernoulli' for two "
                "levels) for labels, or convert the column to numbers first."
            )
        if kind in ("categorical", "bernoulli"):
            levels = _levels(series, name)
            if kind == "bernoulli" and family == "bool":
                levels = np.array([False, True], dtype=object)
            if kind == "bernoulli" and len(levels) > 2:
                raise ValueError(
                    f"{_describe(name)} has {len(levels)} levels; a 'bernoulli' "
                    "column has two. Use 'categorical' for it."
                )
            if kind == "categorical" and len(levels) == 2 and requested is None:
                kind = "bernoulli"  # two levels: one 0/1 entry
            width = len(levels) if kind == "categorical" else 1
            return Column(name, kind, series.dtype, start, width, 0.0, 1.0, levels)
        x = values.astype(np.float64)
        _check_finite(x, name)
        if kind == "poisson":
            if np.any(x < 0) or np.any(x != np.round(x)):
                raise ValueError(
                    f"{_describe(name)} is read as counts ('poisson') but holds "
                    "negative or fractional values. Read it as 'gaussian', or "
                    "pass counts (non-negative integers)."
                )
            mean = float(x.mean())
            return Column(
                name, kind, series.dtype, start, 1, 0.0, mean if mean > 0 else 1.0, None
            )
        center = float(np.median(x))
        q1, q3 = np.percentile(x, [25, 75])
        scale = float(q3 - q1) / IQR_TO_STD
        if not scale > 0:
            scale = float(x.std())
        if not (scale > 0 and np.isfinite(scale)):
            scale = 1.0
        return Column(name, kind, series.dtype, start, 1, center, scale, None)

    # -------------------------------------------------------- model files

    def to_record(self):
        """The encoding as plain JSON values (``skae.save``'s manifest): the
        container and, a column, its name, kind, dtype (its name; a
        category's ordered flag), center, scale and levels. A ValueError
        names a column whose name or levels JSON cannot hold."""
        pd = _pandas()
        columns = []
        for c in self.columns:
            plain = (str, int, float, bool, np.generic)
            values = [] if c.levels is None else list(c.levels)
            odd = [v for v in [c.name, *values] if not isinstance(v, plain)]
            if odd:
                raise ValueError(
                    f"skae.save stores a table's column names and levels as JSON "
                    f"strings, numbers or booleans; column {c.name!r} holds "
                    f"{odd[0]!r} ({type(odd[0]).__name__}). Convert it (for "
                    "example to str) before fitting, or use pickle for trusted use."
                )
            category = isinstance(c.dtype, pd.CategoricalDtype)
            columns.append(
                {
                    "name": _plain(c.name),
                    "kind": c.kind,
                    "dtype": "category" if category else str(c.dtype),
                    "ordered": bool(c.dtype.ordered) if category else None,
                    "categories_dtype": (
                        str(c.dtype.categories.dtype) if category else None
                    ),
                    "center": float(c.center),
                    "scale": float(c.scale),
                    "weight": float(c.weight),
                    "levels": None if c.levels is None else [_plain(v) for v in values],
                }
            )
        return {"container": self.container, "columns": columns}

    @classmethod
    def from_record(cls, record):
        """The encoding of a :meth:`to_record` record, every field checked
        (a ValueError naming the first bad one) before anything is built:
        kinds, finite numbers, level counts within :data:`MAX_LEVELS`."""
        pd = _pandas()
        if not isinstance(record, dict) or set(record) != {"container", "columns"}:
            raise ValueError("must be an object {container, columns}")
        if record["container"] not in ("pandas", "polars", "array"):
            raise ValueError(f"container {record['container']!r:.40} is unknown")
        entries = record["columns"]
        if not isinstance(entries, list) or not entries:
            raise ValueError("columns must be a non-empty list")
        columns, start = [], 0
        keys = {"name", "kind", "dtype", "ordered", "categories_dtype"}
        keys |= {"center", "scale", "weight", "levels"}
        for i, entry in enumerate(entries):
            where = f"columns[{i}]"
            if not isinstance(entry, dict) or set(entry) != keys:
                raise ValueError(f"{where} must be an object {sorted(keys)}")
            name, kind, levels = entry["name"], entry["kind"], entry["levels"]
            if not isinstance(name, str | int) or isinstance(name, bool):
                raise ValueError(f"{where}.name must be a string or an integer")
            if kind not in KINDS:
                raise ValueError(f"{where}.kind must be one of {KINDS}")
            center, scale, weight = entry["center"], entry["scale"], entry["weight"]
            for field, value in (
                ("center", center),
                ("scale", scale),
                ("weight", weight),
            ):
                if not isinstance(value, int | float) or not np.isfinite(value):
                    raise ValueError(f"{where}.{field} must be a finite number")
            if not (scale > 0 and weight > 0):
                raise ValueError(f"{where}.scale and weight must be positive")
            labelled = kind in ("categorical", "bernoulli")
            if labelled != isinstance(levels, list):
                raise ValueError(f"{where}.levels must be a list for {kind!r} only")
            if labelled:
                if not 1 <= len(levels) <= (MAX_LEVELS if kind == "categorical" else 2):
                    raise ValueError(f"{where}.levels has {len(levels)} entries")
                if not all(isinstance(v, str | int | float | bool) for v in levels):
                    raise ValueError(f"{where}.levels must hold plain values")
                levels = np.asarray(levels + [None], dtype=object)[:-1]
            dtype = _dtype_back(entry, levels, where, pd)
            width = len(levels) if kind == "categorical" else 1
            columns.append(
                Column(name, kind, dtype, start, width, center, scale, levels, weight)
            )
            start += width
        return cls(columns, record["container"])

    # ------------------------------------------------------------ encode

    def _frame_of(self, X, who):
        """X as a pandas frame with the fitted columns, or an error naming
        the difference and the fix."""
        frame, container = as_frame(X)
        fitted_frame = self.container != "array"
        if (container != "array") != fitted_frame:
            raise ValueError(
                f"{who} was fitted on "
                + ("a DataFrame" if fitted_frame else "an array")
                + " and got "
                + ("a DataFrame" if container != "array" else "an array")
                + "; pass the same kind of table it was fitted on."
            )
        names = list(frame.columns)
        if names != self.names:
            missing = [n for n in self.names if n not in names]
            extra = [n for n in names if n not in self.names]
            detail = (
                f"missing {missing}, unexpected {extra}"
                if missing or extra
                else "in another order"
            )
            raise ValueError(
                f"X's columns differ from those {who} was fitted on ({detail}). "
                f"Pass X[{self.names}]."
            )
        return frame

    def encode(self, X, who="The model"):
        """The float64 matrix of table X, ``(n_samples, width)``; every
        check first (missing values, changed dtypes, unknown levels), each
        error naming the column and the fix."""
        return self.encode_frame(self._frame_of(X, who))

    def encode_frame(self, frame):
        """:meth:`encode` of a pandas frame whose columns are the fitted
        ones."""
        n = frame.shape[0]
        out = np.zeros((n, self.width), dtype=np.float64)
        for j, column in enumerate(self.columns):
            series = frame.iloc[:, j]
            self._check_column(series, column)
            if column.kind in ("gaussian", "poisson"):
                x = series.to_numpy().astype(np.float64)
                _check_finite(x, column.name)
                out[:, column.start] = (x - column.center) / column.scale
                continue
            codes = self._codes(series, column)
            if column.kind == "bernoulli":
                out[:, column.start] = codes == len(column.levels) - 1
            else:
                out[np.arange(n), column.start + codes] = 1.0
        return out

    def _check_column(self, series, column):
        name = column.name
        _check_present(series, name, "")
        before, now = _family(column.dtype), _family(series.dtype)
        if before != now:
            raise ValueError(
                f"{_describe(name)} was {column.dtype} in fit and is {series.dtype} "
                f"now. Cast it back, e.g. X[{name!r}] = X[{name!r}]."
                f"astype({str(column.dtype)!r})."
            )
        if now == "label":
            _check_one_type(series.to_numpy(), name)
        if column.kind == "poisson":
            x = series.to_numpy().astype(np.float64)
            if np.any(x < 0):
                raise ValueError(
                    f"{_describe(name)} was fitted as counts ('poisson') and now "
                    "holds negative values. Pass counts (non-negative integers)."
                )

    @staticmethod
    def _codes(series, column):
        """Each value's position in the column's levels; unknown levels
        refused."""
        pd = _pandas()
        levels = column.levels
        values = series.to_numpy()
        if column.kind == "bernoulli" and _family(column.dtype) == "bool":
            values = values.astype(bool)
        codes = pd.Index(levels, dtype=object).get_indexer(
            np.asarray(values, dtype=object)
        )
        codes = np.asarray(codes, dtype=np.int64)
        unknown = codes < 0
        if unknown.any():
            seen = sorted({str(v) for v in np.asarray(values, dtype=object)[unknown]})
            shown = seen[:5] + (["..."] if len(seen) > 5 else [])
            raise ValueError(
                f"{_describe(column.name)} holds level(s) {shown} not seen in fit "
                f"(its levels: {[str(v) for v in levels[:10]]}"
                + (", ..." if len(levels) > 10 else "")
                + "). Map them to a known level (X[col].replace(...)) or refit on "
                "data that has them (a pandas category dtype whose categories "
                "list every level makes them known at fit)."
            )
        return codes

    # ------------------------------------------------------------ decode

    def decode(self, means, index=None):
        """A pandas DataFrame of the original columns (order, names, dtypes)
        from ``means``, the decoder's means in the encoded units (a
        probability per Bernoulli entry, per level of a categorical block):
        numeric columns in their units (integer columns rounded), the most
        likely level of a categorical block (as
        ``OneHotEncoder.inverse_transform`` takes the largest entry), the
        level of a Bernoulli entry at or above 0.5, a count's rounded mean."""
        pd = _pandas()
        data = {}
        for column in self.columns:
            block = means[:, column.start : column.start + column.width]
            if column.kind == "gaussian":
                values = block[:, 0].astype(np.float64) * column.scale + column.center
            elif column.kind == "poisson":
                values = np.round(block[:, 0].astype(np.float64) * column.scale)
            elif column.kind == "bernoulli":
                values = column.levels[(block[:, 0] >= 0.5).astype(np.int64)]
            else:
                values = column.levels[np.argmax(block, axis=1)]
            data[column.name] = _with_dtype(values, column.dtype, pd)
        frame = pd.DataFrame(data, index=index)
        frame.columns = pd.Index(self.names)
        return frame


def _plain(value):
    """A numpy scalar as the Python value JSON holds."""
    return value.item() if isinstance(value, np.generic) else value


def _dtype_back(entry, levels, where, pd):
    """A column's recorded dtype: a category's rebuilt from its levels,
    others parsed by ``pandas_dtype`` (names only, never code)."""
    if entry["dtype"] == "category":
        if not isinstance(entry["ordered"], bool) or levels is None:
            raise ValueError(f"{where}: a category needs its levels and ordered flag")
        categories = pd.Index(levels, dtype=object)
        if entry["categories_dtype"] is not None:
            inner = _named_dtype(
                entry["categories_dtype"], f"{where}.categories_dtype", pd
            )
            try:
                categories = categories.astype(inner)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{where}.levels do not fit {inner}") from exc
        return pd.CategoricalDtype(categories, ordered=entry["ordered"])
    return _named_dtype(entry["dtype"], f"{where}.dtype", pd)


def _named_dtype(name, where, pd):
    """The dtype a recorded name gives (``pandas_dtype`` parses names only),
    never a category's (whose categories the record lists)."""
    if not isinstance(name, str) or len(name) > 40:
        raise ValueError(f"{where} must be a dtype's name")
    try:
        dtype = pd.api.types.pandas_dtype(name)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where} {name!r} is unknown") from exc
    if isinstance(dtype, pd.CategoricalDtype):
        raise ValueError(f"{where} must name no category")
    return dtype


def _with_dtype(values, dtype, pd):
    """``values`` as a pandas Series of ``dtype`` (integers rounded)."""
    if isinstance(dtype, pd.CategoricalDtype):
        return pd.Categorical(values, dtype=dtype)
    if pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        # rounded, and within the dtype's range (a uint8 stays one)
        limits = np.iinfo(getattr(dtype, "numpy_dtype", dtype))
        values = np.round(np.asarray(values, dtype=np.float64))
        values = np.clip(values, limits.min, limits.max)
    try:
        return pd.array(values, dtype=dtype)
    except (TypeError, ValueError):
        return pd.array(values)
