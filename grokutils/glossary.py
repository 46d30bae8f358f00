"""The book's naming glossary: one name per quantity, used everywhere.

Every configuration field, metric key and notebook parameter uses a name from
this table. Notebooks and chapter pages link here instead of redefining names.
"""

GLOSSARY: dict[str, str] = {
    # data
    "task": "what is learned: 'add', 'sub', 'mul', 'div' (mod p), 's5', or an image dataset",
    "p": "modulus of a modular-arithmetic task (prime where the task needs inverses)",
    "frac_train": "fraction of all operation-table pairs used for training, in (0, 1)",
    "num_train": "number of training images (image tasks; class-balanced for offline MNIST)",
    "data_seed": "seed of the train/test split (kept fixed across model seeds by default)",
    # model
    "model": "'transformer', 'mlp' or 'cnn'",
    "d_model": "width of the transformer residual stream",
    "num_heads": "attention heads per layer",
    "d_mlp": "hidden width of the transformer feed-forward block",
    "num_layers": "transformer blocks (1 or 2)",
    "layer_norm": "whether the transformer uses pre-LayerNorm (and a final norm)",
    "widths": "hidden widths of the MLP, e.g. (200, 200, 200)",
    "init_scale": "factor multiplying parameters after PyTorch's default init (Omnigrok's alpha)",
    # optimisation
    "loss": "'cross_entropy' or 'mse' (against one-hot targets)",
    "loss_reduction": "'mean' or 'sum' over batch (and classes, for MSE)",
    "optimizer": "'adamw' or 'sgd'",
    "lr": "learning rate",
    "weight_decay": "decoupled weight decay (AdamW) or L2 coefficient (SGD)",
    "betas": "AdamW (beta1, beta2)",
    "warmup_steps": "linear learning-rate warm-up length in steps",
    "batch_size": "minibatch size; None means full batch",
    "num_steps": "optimisation steps",
    "seed": "seed of the initialisation and of the minibatch order",
    "eval_schedule": "'paper' (every step < 30, every 10 < 150, then every num_steps // 150) or 'every:N'",
    # measured
    "train_acc": "accuracy on the full training split",
    "test_acc": "accuracy on the held-out split",
    "train_loss": "training-objective loss on the full training split (no weight decay term)",
    "test_loss": "the same loss on the held-out split",
    "weight_norm": "sqrt of the sum of squares of all parameters",
    "wall_time": "seconds of training (evaluation included) when the row was recorded",
    "within_class_variance": "tr Σ_W = (1/N) Σ_i ||h_i − μ_{y_i}||² on the training split (Part I)",
    "nc1": "tr Σ_W / tr Σ_B (the authors' NC1, Part I); Papyan's (1/K) tr(Σ_W Σ_B⁺) is metrics.collapse.nc1_papyan",
    "rnc1": "tr Σ_W / s², s the mean feature norm: scale-invariant within-class variance (Part I)",
    "nc2": "σ_max / σ_min of the matrix of uncentred class means (Part I)",
    "spectral_entropy": "normalised entropy of the eigenvalues of the representation covariance on a 512-sample probe (Part III)",
    "effective_rank": "exp(spectral_entropy · log d) (Part III)",
    "t_fit": "first evaluation step with train_acc >= 0.99",
    "t_grok": "first evaluation step with test_acc >= the task's threshold (0.95 algorithmic)",
    "grok_delay": "t_grok - t_fit",
}


def describe(name: str) -> str:
    """Return the glossary entry for ``name`` (KeyError lists the known names)."""
    try:
        return GLOSSARY[name]
    except KeyError:
        raise KeyError(f"{name!r} is not in the glossary; known names: {sorted(GLOSSARY)}") from None
