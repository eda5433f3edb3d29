"""The estimators' side of a mixed-type table (:mod:`skae._table` holds the
encoding itself, which knows nothing of estimators): :class:`TableInput`,
the methods of :class:`~skae._base.BaseAutoencoder` that decide whether X is
a table, fit or apply its encoding (``table_``), refuse the settings a table
cannot take, and read a table model's outputs back (its likelihood, its
reconstruction as a DataFrame, its scores).
"""

import numpy as np
import torch
from sklearn.utils import check_array

from ._data import validate_X
from ._inference import run_batches
from ._objectives import PENALTIES, likelihood
from ._table import TableEncoding, wants_table


def _setting(value):
    """A table parameter's value in a comparable form (an array or list of
    columns as a list)."""
    if value is None or isinstance(value, str | dict):
        return value
    return np.asarray(value).tolist()


class TableInput:
    """Mixin of :class:`~skae._base.BaseAutoencoder`: X as a table or as
    numbers, and a table model's outputs. ``table_`` is the fitted
    :class:`~skae._table.TableEncoding`, None on the numeric path."""

    def _takes_table(self, X, resume):
        """Whether :meth:`_table_input` reads X as a table: through the
        fitted ``table_`` when the call continues a fit, else as
        :func:`~skae._table.wants_table` says."""
        if resume:
            return getattr(self, "table_", None) is not None
        return wants_table(X, self.categorical_features, self.column_likelihoods)

    def _table_input(self, X, resume, incremental, missing, ranks):
        """X encoded by the table encoding (:mod:`skae._table`): a fitted
        model's ``table_`` when the call continues it, else a new one
        fitted on X and set as ``table_``, with ``n_features_in_`` and
        ``feature_names_in_`` the table's columns. None when X is not a
        table (the numeric path, where ``table_`` is None)."""
        table = getattr(self, "table_", None) if resume else None
        if resume:
            self._check_table_params_unchanged()
        else:
            self.table_ = None
        if not self._takes_table(X, resume):
            return None
        if not resume:
            self._check_table_params(ranks)
            table = TableEncoding.fit(
                X, self.categorical_features, self.column_likelihoods, missing
            )
        encoded = table.encode(X, type(self).__name__, missing)
        check_array(
            encoded,
            ensure_min_samples=1 if (incremental and resume) else 2,
            ensure_all_finite="allow-nan" if missing else True,
        )
        if not resume:
            self.table_ = table
            self.n_features_in_ = len(table.columns)
            names = table.feature_names
            if names is None:
                self.__dict__.pop("feature_names_in_", None)
            else:
                self.feature_names_in_ = names
        return encoded

    def _check_table_params_unchanged(self):
        """A warm start or ``partial_fit`` continues the fitted encoding (or
        the numeric path): refuse table parameters changed since the fit."""
        fitted = self._fitted_params
        changed = [
            name
            for name in ("categorical_features", "column_likelihoods")
            if _setting(getattr(self, name)) != _setting(fitted.get(name))
        ]
        if changed:
            listed = ", ".join(
                f"{n} (fitted {fitted.get(n)!r}, now {getattr(self, n)!r})"
                for n in changed
            )
            raise ValueError(
                f"warm_start=True and partial_fit continue the fitted model, whose "
                f"table encoding these parameters would change: {listed}. Set "
                "them back, or set warm_start=False (and call fit) to fit a new "
                "model."
            )

    def _check_table_params(self, ranks):
        """Refuse the settings a table cannot take, before any work."""
        who = type(self).__name__
        if ranks is not None:
            raise ValueError(
                "strategy='ddp' trains on numeric arrays; this X is a table with "
                "categorical columns, whose encoding every process would fit on "
                "its own rows. Encode the table first (sklearn's "
                "ColumnTransformer with OneHotEncoder), or train on one process."
            )
        if self.penalty is not None and PENALTIES[self.penalty].builds_network:
            raise ValueError(
                f"penalty={self.penalty!r} builds a linear dictionary on centred "
                "numeric data, which a table's categorical columns (a softmax "
                "over each one-hot block) are not. Use penalty='l1' with "
                "code_activation='relu' for a sparse code on a table, or encode "
                "the table first (sklearn's ColumnTransformer) for TopK."
            )
        if self.loss == "bce" or getattr(self, "likelihood", "auto") != "auto":
            raise ValueError(
                f"{who} reads a table's columns each with its own likelihood, so "
                "loss='bce' and a VAE's likelihood other than 'auto' do not "
                "apply to it. Leave them at their defaults and set "
                "column_likelihoods (a dict: column -> 'gaussian', 'bernoulli', "
                "'categorical' or 'poisson') for the columns that need another."
            )

    def _inference_input(self, X, missing=False, **kwargs):
        """X checked for inference against the fitted model: a table's frame
        encoded by ``table_`` (with ``missing``, its missing entries NaN),
        numeric X validated (``validate_X``)."""
        table = getattr(self, "table_", None)
        if table is not None:
            return table.encode(X, type(self).__name__, missing)
        return validate_X(self, X, reset=False, **kwargs)

    def _fitted_likelihood(self):
        """The likelihood piece of the fitted model (``table_``'s for a
        table, else the one ``loss_`` names)."""
        table = getattr(self, "table_", None)
        return likelihood(self.loss_) if table is None else table.likelihood

    def _table_output(self, means, Z, adapter):
        """A table's reconstruction from the decoder's ``means``: a pandas
        DataFrame of the original columns and dtypes (the index of the codes
        ``Z`` when they have one), polars under ``set_output(transform=
        "polars")``; for a table fitted as an array, an array unless
        ``set_output`` asks for a DataFrame."""
        index = getattr(Z, "index", None)
        frame = self.table_.decode(means, index=index)
        wanted = None if adapter is None else adapter.container_lib
        if wanted == "polars" or (wanted is None and self.table_.container == "polars"):
            import polars as pl

            return pl.from_pandas(frame)
        if self.table_.container == "array" and wanted is None:
            return frame.to_numpy()
        return frame

    def _table_scores(self, X, per_column=False):
        """``score_samples`` of a table: minus the mean over columns of the
        row's weighted terms (``TableLikelihood.reconstruction_terms``: the
        training loss with the numeric columns at their marginal variance,
        each row's own). With ``per_column``,
        ``(n_samples, n_columns)``: minus each column's term over the number
        of columns, in the table's column order (a row sums to its score)."""
        X = self._inference_input(X)
        lik = self.table_.likelihood
        order = torch.tensor(lik.term_order, dtype=torch.long)

        def row_loss(module, x):
            output = module.decode(self._encode(module, x.clone()))
            terms = lik.reconstruction_terms(x, output)
            if not per_column:
                return terms.mean(dim=1)
            in_order = torch.empty_like(terms)
            in_order[:, order.to(terms.device)] = terms / terms.shape[1]
            return in_order

        return -run_batches(self, row_loss, X, normalise=True, dtype=np.float64)
