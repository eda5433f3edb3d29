"""VAETransformer: a (beta-)variational autoencoder."""

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._base import BaseAutoencoder
from ._callbacks import history_column
from ._compat import Interval, StrOptions
from ._data import Normalisation
from ._docstrings import fill_doc
from ._inference import reads_fitted_state, run_batches
from ._losses import gaussian_kl, gaussian_log_density
from ._modules import VariationalAutoencoder
from ._net import VAENet
from ._objectives import PENALTIES, likelihood
from ._training import max_epochs

#: Draws of eps behind the reconstruction term of :meth:`score_samples`. They
#: are fixed (seeded by :data:`SCORE_SEED`) and shared by every row, so a row's
#: score depends on nothing but the row.
N_SCORE_DRAWS = 32
SCORE_SEED = 0


def _check_n_samples(n_samples):
    if isinstance(n_samples, bool) or not (
        isinstance(n_samples, Integral) and n_samples >= 1
    ):
        raise ValueError(f"n_samples must be a positive integer; got {n_samples!r}.")


def _rng(random_state):
    """A numpy generator that never draws from the global RNG: None gives a
    fresh, OS-seeded one."""
    if random_state is None:
        return np.random.default_rng()
    return check_random_state(random_state)


@fill_doc
class VAETransformer(BaseAutoencoder):
    """Variational autoencoder (beta-VAE): an MLP or your own encoder and decoder.

    The encoder gives a diagonal Gaussian posterior
    q(z|x) = N(mu(x), diag sigma^2(x)) over ``n_components`` latent
    dimensions, the decoder a likelihood p(x|z), and training maximises the
    evidence lower bound (ELBO) with a weight ``beta`` on its KL term:

        E_q[log p(x|z)] - beta * KL(q(z|x) || N(0, I)),

    summed over features (and latent dimensions) and averaged over samples,
    as in the VAE and beta-VAE papers. ``beta=1`` is the plain VAE.

    ``transform`` returns the posterior mean mu(x) (deterministic),
    ``inverse_transform`` the decoder's mean in the units of the fitted data,
    :meth:`sample` generates new samples, ``score_samples`` gives each
    sample's ELBO in nats (always with beta = 1) and :meth:`log_likelihood`
    the tighter importance-weighted estimate of log p(x). Training runs in a
    skorch ``NeuralNet`` (CPU or GPU).

    The likelihood decides the internal normalisation: ``"gaussian"`` uses the
    one of ``loss="mse"`` (per-feature mean, one global scale) and
    ``"bernoulli"`` the one of ``loss="bce"`` (global [min, max] onto [0, 1]);
    ``offset_`` and ``scale_`` describe it as for that loss.

    Parameters
    ----------
    {params}

    Attributes
    ----------
    {base_attributes}

    reconstruction_curve_ : list of float
        Per epoch, the mean over training samples of minus log p(x|z) (the
        reconstruction term, one reparameterised draw per sample), in nats,
        on the normalised data.

    kl_curve_ : list of float
        Per epoch, the mean over training samples of KL(q(z|x) || N(0, I)),
        in nats.

    kl_weight_curve_ : list of float
        The KL weight used in each epoch (the warm-up ramp, then ``beta``):
        ``loss_curve_[e] == reconstruction_curve_[e] + kl_weight_curve_[e] *
        kl_curve_[e]``.

    See Also
    --------
    AutoencoderTransformer : The deterministic autoencoder.
    sklearn.decomposition.PCA : Probabilistic PCA is the linear Gaussian case.

    Notes
    -----
    ``loss_curve_`` holds the negative ELBO per sample at the epoch's KL
    weight, and ``validation_scores_`` the ELBO per sample at ``beta`` (both in
    nats on the normalised data, without the units correction of
    :meth:`score_samples`).

    References
    ----------
    Kingma and Welling (2014), "Auto-Encoding Variational Bayes".
    Higgins et al. (2017), "beta-VAE: Learning Basic Visual Concepts with a
    Constrained Variational Framework".
    Burda, Grosse and Salakhutdinov (2016), "Importance Weighted
    Autoencoders".

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import VAETransformer
    >>> X, _ = load_digits(return_X_y=True)
    >>> vae = VAETransformer(n_components=2, max_iter=5, random_state=0)
    >>> vae.fit_transform(X).shape
    (1797, 2)
    >>> vae.sample(3, random_state=0).shape
    (3, 64)
    """

    _parameter_constraints: dict = {
        **BaseAutoencoder._parameter_constraints,
        "beta": [Interval(Real, 0, None, closed="left")],
        "kl_warmup": [Interval(Integral, 0, None, closed="left")],
        "likelihood": [StrOptions({"auto", "gaussian", "bernoulli"})],
    }

    def __init__(
        self,
        n_components=2,
        *,
        encoder=None,
        decoder=None,
        hidden_layer_sizes=(512,),
        decoder_layer_sizes=None,
        activation="relu",
        code_activation=None,
        init="auto",
        loss="auto",
        categorical_features="from_dtype",
        column_likelihoods=None,
        penalty=None,
        alpha=0.3,
        target_weight=0.0,
        sparsity_target=0.05,
        n_nonzero_coefs=None,
        sparse_output=False,
        noise=None,
        noise_level=0.2,
        dropout=0.1,
        weight_decay=0.0,
        batch_size=128,
        learning_rate="one_cycle",
        learning_rate_init=3e-3,
        max_iter="auto",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        callbacks=None,
        device="auto",
        strategy=None,
        random_state=None,
        verbose=0,
        warm_start=False,
        beta=1.0,
        kl_warmup=0,
        likelihood="auto",
    ):
        """Store the parameters; see the class docstring."""
        self.n_components = n_components
        self.encoder = encoder
        self.decoder = decoder
        self.hidden_layer_sizes = hidden_layer_sizes
        self.decoder_layer_sizes = decoder_layer_sizes
        self.activation = activation
        self.code_activation = code_activation
        self.init = init
        self.loss = loss
        self.categorical_features = categorical_features
        self.column_likelihoods = column_likelihoods
        self.penalty = penalty
        self.alpha = alpha
        self.target_weight = target_weight
        self.sparsity_target = sparsity_target
        self.n_nonzero_coefs = n_nonzero_coefs
        self.sparse_output = sparse_output
        self.noise = noise
        self.noise_level = noise_level
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.callbacks = callbacks
        self.device = device
        self.strategy = strategy
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.beta = beta
        self.kl_warmup = kl_warmup
        self.likelihood = likelihood

    _param_docs = {
        "beta": (
            "float",
            """Weight of the KL term (beta of the beta-VAE). Larger values pull
    the posterior towards the prior N(0, I) (smoother, more disentangled
    codes, blurrier reconstructions); ``beta=0`` is an explicit opt-out of
    the KL term.""",
        ),
        "kl_warmup": (
            "int",
            """Epochs over which the KL weight ramps linearly from 0 up to
    ``beta`` (epoch e < kl_warmup uses ``beta * e / kl_warmup``; epochs
    are counted over the whole training history, so warm starts continue
    the ramp). 0 disables the ramp. It must end within training:
    ``kl_warmup >= max_iter`` raises a ValueError at ``fit`` (not at
    ``partial_fit``, where ``max_iter`` does not apply). The stopping rule
    does not judge the warm-up epochs, so training never stops before the
    full beta is reached. With ``beta=0`` there is nothing to ramp, and a
    value other than 0 is an error.""",
        ),
        "likelihood": (
            '{"auto", "gaussian", "bernoulli"}',
            """The decoder's distribution p(x|z), which also decides the
    normalisation (and so overrides ``loss``).

    - ``"gaussian"``: N(x_n | decoder mean, s^2 I) on the normalised data
      x_n, with one learned global variance s^2 shared by all features
      (the attribute ``log_var`` of the module, clamped like the encoder's
      log-variances to [-10, 10]). This is a proper density.
    - ``"bernoulli"``: independent Bernoullis whose means are the
      decoder's sigmoid outputs, on the data mapped onto [0, 1]. For binary
      data that is a log-probability; for values inside (0, 1) (e.g. grey
      levels) it is minus the binary cross-entropy, a log-likelihood of
      this model but not a normalised density.
    - ``"auto"``: ``"bernoulli"`` when ``loss`` is (or, for
      ``loss="auto"``, resolves to) ``"bce"``, else ``"gaussian"``.
      ``loss`` matters only through this rule; the fitted ``loss_``
      records the outcome (``"bce"`` for Bernoulli).""",
        ),
        "code_activation": (
            "None",
            """Must stay None: the code is the Gaussian posterior's mean.""",
        ),
    }

    # ------------------------------------------------------------ inference

    @reads_fitted_state
    def score_samples(self, X):
        """Compute the ELBO of each sample, in nats.

        ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || N(0, I)), always with
        beta = 1 whatever ``beta`` was used in training, so models fitted
        with different betas are compared on one criterion. The KL is exact;
        the expectation averages 32 decoder passes at z = mu + sigma * eps
        for fixed draws of eps (seeded by a constant and shared by every
        row), so the result is deterministic and each row's score depends on
        that row alone. For ``likelihood="gaussian"`` the log-Jacobian of the
        internal normalisation, ``-n_features_in_ * log(scale_)``, is added,
        making the score a lower bound on log p(x) in X's own units. For
        ``"bernoulli"`` it is the log-likelihood of the data mapped onto
        [0, 1] (no units correction: it is not a density of X), defined only
        for data within the training data's [min, max]: rows outside it
        raise a ValueError, since binary cross-entropy would score them
        higher the farther out they lie.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data in the units the model was fitted on.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Float64 ELBOs; higher is better.
        """
        check_is_fitted(self)
        eps = np.random.RandomState(SCORE_SEED).standard_normal(
            (N_SCORE_DRAWS, self.n_components_)
        )

        def elbo(module, x):
            # a copy: an encoder may write to its input, and x is the target
            mu, log_var = module.posterior(x.clone())
            recon = sum(r for _, r in self._draws(module, x, mu, log_var, eps))
            return recon / len(eps) - gaussian_kl(mu, log_var).double()

        return self._score_rows(elbo, X)

    def score(self, X, y=None):
        """Mean ELBO (with beta = 1) of the samples of X.

        See :meth:`score_samples`.

        With no ``scoring``, cross-validated search therefore selects the
        model with the highest held-out ELBO, whatever beta it was trained
        with.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data in the units the model was fitted on.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        score : float
            Mean ELBO in nats; higher is better.
        """
        return super().score(X, y)

    @reads_fitted_state
    def log_likelihood(self, X, n_samples=100, random_state=None):
        """Importance-weighted estimate of log p(x) per sample (IWAE bound).

        log p(x) >= E[log (1/K) sum_k p(x, z_k) / q(z_k|x)] with
        z_1..z_K drawn from q(z|x) (Burda et al., 2016): with K = 1 it is the
        ELBO, and it tightens towards log p(x) as K grows. In the same units
        as :meth:`score_samples` (nats, including its units correction); on
        average it is at least the ELBO. The K draws of eps are shared by all
        rows, so a row's estimate does not depend on the other rows.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data in the units the model was fitted on.
        n_samples : int, default=100
            Importance samples K per row.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws; an int gives reproducible estimates. The global
            numpy and torch random states are left untouched.

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples_X,)
            Float64 estimates in nats.
        """
        _check_n_samples(n_samples)
        check_is_fitted(self)
        eps = _rng(random_state).standard_normal((n_samples, self.n_components_))

        def iwae(module, x):
            # a copy: an encoder may write to its input, and x is the target
            mu, log_var = module.posterior(x.clone())
            total = torch.full(
                mu.shape[:1], -math.inf, dtype=torch.float64, device=mu.device
            )
            for z, recon in self._draws(module, x, mu, log_var, eps):
                log_prior = gaussian_log_density(z, 0.0, 0.0)
                log_q = gaussian_log_density(z, mu, log_var)
                total = torch.logaddexp(total, recon + (log_prior - log_q).double())
            return total - math.log(len(eps))

        return self._score_rows(iwae, X)

    @reads_fitted_state
    def sample(self, n_samples=1, random_state=None):
        """Generate samples: z ~ N(0, I), decoded to the decoder's mean.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to generate.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws of z; an int gives reproducible samples. The
            global numpy and torch random states are left untouched.

        Returns
        -------
        X_new : ndarray or DataFrame of shape (n_samples, `n_features_in_`)
            Float64 decoder means, in the units of the fitted data:
            ``inverse_transform`` of the drawn codes (so a DataFrame when
            ``set_output`` asks for one).
        """
        _check_n_samples(n_samples)
        check_is_fitted(self)
        Z = _rng(random_state).standard_normal((n_samples, self.n_components_))
        return self.inverse_transform(Z)

    # ------------------------------------------------------------- helpers

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False  # transform and score are deterministic
        return tags

    def _resolved_likelihood(self):
        """The fitted likelihood's name."""
        return self._fitted_likelihood().name

    def _draws(self, module, x, mu, log_var, eps):
        """For each row of ``eps``: z = mu + sigma * eps and log p(x|z) (float64)."""
        std = torch.exp(0.5 * log_var)
        for e in torch.as_tensor(eps, dtype=x.dtype, device=x.device):
            z = mu + std * e
            recon = self._fitted_likelihood().log_likelihood(
                x, module.decode(z), module.output_log_var()
            )
            yield z, recon.double()

    def _score_rows(self, fn, X):
        """``fn(module, x_normalised)`` per row in float64, in X's units."""
        X = self._inference_input(X).astype(np.float64, copy=False)
        if self._resolved_likelihood() == "bernoulli":
            Normalisation(self.offset_, self.scale_).check_range(
                X,
                "the training data",
                "Clip X into that range first (np.clip), or fit with "
                "likelihood='gaussian' to score data that may leave it.",
            )
        return run_batches(self, fn, X, normalise=True) - self._log_jacobian()

    def _log_jacobian(self):
        """log |det| of the normalisation x -> (x - offset_) / scale_."""
        if self._resolved_likelihood() == "bernoulli":
            return 0.0
        if self._resolved_likelihood() == "table":
            # the numeric columns' densities are in their standardised units
            return float(np.log(self.table_.gaussian_scales()).sum())
        return self.n_features_in_ * math.log(self.scale_)

    # --------------------------------------------------------------- hooks

    _regularised_code = True  # the KL term keeps the code from copying X
    #: init="auto" leaves the VAE's network random on a table: its ELBO reads
    #: every column at its own likelihood, with no numeric hold to pair with
    #: a PCA start (init="pca" starts the posterior means at PCA)
    _table_start = False

    def _requested_likelihood(self):
        if self.likelihood == "auto":
            return super()._requested_likelihood()
        return likelihood(self.likelihood)

    def _likelihood_label(self, lik):
        return f"the {lik.name!r} likelihood"

    def _make_module(self, encoder, decoder, n_features, params, lik):
        return VariationalAutoencoder(
            encoder, decoder, n_features, params["n_components"], lik.name
        )

    def _net_class(self):
        return VAENet

    def _net_params(self):
        return dict(beta=float(self.beta), kl_warmup=int(self.kl_warmup))

    def _warmup_epochs(self):
        return self.kl_warmup

    def _check_params(self, X, incremental):
        super()._check_params(X, incremental)
        if self.code_activation is not None:
            raise ValueError(
                f"VAETransformer's code is the posterior mean of a Gaussian; "
                f"code_activation={self.code_activation!r} cannot apply. Leave "
                "code_activation=None."
            )
        if self.penalty is not None and PENALTIES[self.penalty].builds_network:
            raise ValueError(
                f"penalty={self.penalty!r} builds its own network (a linear "
                "autoencoder with a TopK code), not a VAE's posterior. Use "
                "SparseAutoencoder(penalty=...) for it, or penalty='l1' or 'l2' "
                "here."
            )
        if self.penalty == "kl":
            raise ValueError(
                "penalty='kl' needs a code in (0, 1); the VAE's code (the "
                "posterior mean) is unbounded. Use penalty='l1' or 'l2'."
            )
        epochs = None if incremental or X is None else max_epochs(self, X.shape[0])
        if epochs is not None and self.kl_warmup >= epochs:
            raise ValueError(
                f"kl_warmup={self.kl_warmup} epochs cannot finish within "
                f"max_iter={self.max_iter!r} ({epochs} epochs "
                "here): the KL weight would never reach beta. "
                "Use kl_warmup < max_iter (or kl_warmup=0 for no warm-up)."
            )

    def _record_history(self, history):
        return dict(
            reconstruction_curve_=history_column(history, "train_reconstruction"),
            kl_curve_=history_column(history, "train_kl"),
            kl_weight_curve_=history_column(history, "kl_weight"),
        )
