"""The book's naming glossary: one name per quantity, used everywhere.

Every configuration field, metric key and notebook parameter uses a name from
this table. Notebooks and chapter pages link here instead of redefining names.
"""

GLOSSARY: dict[str, str] = {
    # data
    "task": "what is learned: 'add', 'sub', 'mul', 'div' (mod p), 's5', an image dataset, or a text dataset "
            "('sst2', 'trec6', 'ag_news': Part I, Appendix C; files under $GROKUTILS_DATA)",
    "p": "modulus of a modular-arithmetic task (prime where the task needs inverses)",
    "frac_train": "fraction of all operation-table pairs used for training, in (0, 1)",
    "num_train": "number of training images or sentences (class-balanced for offline MNIST, class-stratified "
                 "for text tasks)",
    "data_seed": "seed of the train/test split (kept fixed across model seeds by default)",
    # model
    "model": "'transformer', 'mlp', 'cnn', 'vit' (one-layer vision transformer), 'resnet18', 'resnet10' "
             "(CIFAR-style ResNets; Parts I and IV) or 'text_transformer' (one-layer transformer for the text "
             "tasks; Part I appendix)",
    "d_model": "width of the transformer residual stream",
    "num_heads": "attention heads per layer",
    "d_mlp": "hidden width of the transformer feed-forward block",
    "num_layers": "transformer blocks (1 or 2)",
    "layer_norm": "whether the transformer uses pre-LayerNorm (and a final norm)",
    "widths": "hidden widths of the MLP, e.g. (200, 200, 200)",
    "activation": "hidden activation of the MLP: 'relu' (default), 'tanh' or 'softplus' (smooth, Part I Thm 4.3)",
    "init_scale": "factor multiplying parameters after PyTorch's default init (Omnigrok's alpha)",
    "init": "the transformer's initialisation: 'book' (Nanda et al. 2023: N(0, 1/d_model), head N(0, 1/vocab), zero "
            "biases) or 'pytorch' (each layer's PyTorch default; Part III's calibration)",
    # optimisation
    "loss": "'cross_entropy' or 'mse' (against one-hot targets)",
    "loss_reduction": "'mean' or 'sum' over batch (and classes, for MSE)",
    "loss_dtype": "precision in which the loss is computed from the logits: 'float32' or 'float64' (Nanda et al. "
                  "2023; the model stays float32)",
    "optimizer": "'adamw' or 'sgd'",
    "lr": "learning rate",
    "weight_decay": "decoupled weight decay (AdamW) or L2 coefficient (SGD)",
    "betas": "AdamW (beta1, beta2)",
    "warmup_steps": "linear learning-rate warm-up length in steps",
    "batch_size": "minibatch size; None means full batch",
    "num_steps": "optimisation steps (an upper bound when stop_after_grok is set)",
    "stop_after_grok": "optional early stop: the run ends at its first evaluation at or after t_grok + k "
                       "(k = stop_after_grok >= 0); None (default) trains all num_steps",
    "seed": "seed of the initialisation and of the minibatch order",
    "eval_schedule": "'paper' (every step < 30, every 10 < 150, then every num_steps // 150) or 'every:N'",
    "mixing_alpha": "α of Part III's intervention (claim 3): h̃_i = (1 − α) h_i + α h_{i+1 mod B} in each batch, "
                    "loss ½[L(h) + L(h̃)]; 0 = off",
    "norm_matched": "Part III's control (claim 3): after every step, rescale all parameters to the norm of the "
                    "run without mixing after that step",
    "noise_scale": "λ₁ of Part II's input perturbation: σ_t = max(λ₁ (1 − train acc), λ₂) (grokutils.perturbation); "
                   "0 = off",
    "noise_floor": "λ₂ of Part II's input perturbation: the smallest σ_t; 0 = off",
    "abelian_weight": "c of Part II's abelian regulariser: loss + c · MSE(f(a, b), f(b, a)) on a commutative task; "
                      "0 = off",
    "ncc_weight": "λ of Part IV's NCC regulariser (Han et al. 2025, Section 5): loss − λ · NCC of the batch's "
                  "penultimate features (Definition 3.1, sum form; grokutils.regularisers); 0 = off",
    "flatness_weight": "λ of Part IV's flatness regulariser (Han et al. 2025, Section 6): loss − λ · κ, the relative "
                       "flatness of the last layer on the batch (Definition 3.2; grokutils.regularisers); 0 = off",
    "unplug_step": "the step from which Part IV's flatness regulariser is removed (steps 0..unplug_step − 1 train "
                   "with it); None = never",
    # measured
    "train_acc": "accuracy on the full training split",
    "test_acc": "accuracy on the held-out split",
    "train_loss": "training-objective loss on the full training split (no weight decay term)",
    "test_loss": "the same loss on the held-out split",
    "weight_norm": "sqrt of the sum of squares of all parameters",
    "norm_trace": "weight_norm after every step 0..num_steps, or up to an early stop (float32 file next to the "
                  "result): what a norm-matched run follows (Part III, claim 3)",
    "wall_time": "seconds of training (evaluation included) when the row was recorded",
    "within_class_variance": "tr Σ_W = (1/N) Σ_i ||h_i − μ_{y_i}||² on the training split (Part I)",
    "nc1": "tr Σ_W / tr Σ_B (the authors' NC1, Part I); Papyan's (1/K) tr(Σ_W Σ_B⁺) is metrics.collapse.nc1_papyan",
    "rnc1": "tr Σ_W / s², s the mean feature norm: scale-invariant within-class variance (Part I)",
    "nc2": "σ_max / σ_min of the matrix of uncentred class means (Part I)",
    "spectral_entropy": ("normalised entropy of the eigenvalues of the representation covariance on a 512-sample "
                         "probe (Part III)"),
    "effective_rank": "exp(spectral_entropy · log d) (Part III)",
    "spectral_entropy_test": "spectral_entropy on a fixed 512-sample probe of the held-out split (a seeded random "
                             "subset): the second probe of Part III, claim 8",
    "representation_norm": "mean ||h(x)|| of the penultimate representation on the training split (s of RNC1)",
    "test_rnc1": "RNC1 of the test split: the population within-class variance of Part I, Theorem 3.2",
    "test_nc1": "the authors' NC1 on the test split (Part I)",
    "test_nc2": "NC2 on the test split (Part I)",
    "margin_bound_train": "Theorem 3.2's error bound (Cantelli + union bound) with the training features (Part I)",
    "margin_bound_test": "Theorem 3.2's error bound with the held-out features: bounds the test error (Part I)",
    "mi_zx": "compression estimate of I(Z;X) on 1,000 test images, nats (Part I, Figure 4)",
    "mi_zy": "compression estimate of I(Z;Y), nats (Part I, Figure 4)",
    "mi_redundancy": "mi_zx − mi_zy: estimated superfluous information I(X;Z|Y) (Part I, Figure 4a)",
    "nhsic_zx": "nHSIC between features and images, batches of 100 (Part I, Figure 4b)",
    "nhsic_zy": "nHSIC between features and one-hot labels (Part I, Figure 4b)",
    "nhsic_redundancy": "nhsic_zx − nhsic_zy (Part I, Figure 4b)",
    "ib_bound_logdet": "Σ_y p(y) ½ log det(I + Σ_y/σ²): Theorem 3.4's first bound, nats (Part I)",
    "ib_bound_trace": "(d/2) Σ_y p(y) log(1 + tr Σ_y/(dσ²)): Theorem 3.4's second bound, nats (Part I)",
    "ib_lower_bound": "H(Y) − E[cross-entropy] on the training split: Proposition 3.3's lower bound on I(Y;Z) (Part I)",
    "snapshot": "2-D projection of train/test features and test-margin quantiles at a few steps (Part I, Figure 2)",
    "within_train": "within-class variance of h/s on the training split, s the training mean norm (Part I, Thm 4.1)",
    "within_test": "the same on the held-out split, with the same s (Part I, Thm 4.1)",
    "within_gap": "|within_test − within_train| (Part I, Thm 4.1)",
    "complexity_over_scale": "Π_l ||W_l||₂ of the MLP's hidden layers divided by s: C(h) of Part I, Thm 4.1",
    "sharpness": "Hutchinson's estimate of Tr ∇²_θ L, the run's loss on a 1,000-sample training probe, 20 fixed "
                 "Rademacher vectors (Part II, Figure 2 c-d; metrics.sharpness)",
    "sharpness_se": "the standard error of sharpness over its 20 vectors",
    "perturbation_error": "E ||f(x + ε) − f(x)||² over a 1,000-sample training probe (Part II, Figure 2)",
    "pmi": "matrix mutual information of first-layer and output Grams on perturbed inputs (Part II)",
    "pe": "matrix entropy of the output Gram on perturbed inputs (Part II)",
    "mid": "pmi − the same mutual information on clean inputs (Part II)",
    "ed": "pe − the same entropy on clean inputs (Part II)",
    "abelian_train": "fraction of training pairs with argmax f(a, b) = argmax f(b, a) (Part II, Figure 5)",
    "abelian_test": "the same on the test pairs (Part II, Figure 5)",
    "abelian_agreement": "Part V's abelian indicator: fraction of the probe's pairs with argmax f(a, b) = argmax "
                         "f(b, a) (Part II's abelian test on one probe; commutative tasks)",
    "cost_<indicator>": "seconds one evaluation of that Part V indicator took, its own forward passes included "
                        "(recorded by the signals callback as cost_weight_norm, cost_rnc1, ...)",
    "logit_distance_train": "mean ||f(a, b) − f(b, a)|| over training pairs (Part II, Figure 7)",
    "fourier_alignment": "mean alignment of the token embedding with its key Fourier frequencies (Part III, claim 7)",
    "fourier_top_power": "share of the embedding's Fourier power in its top 5 frequencies (Part III, claim 7)",
    "imbalance_l": "‖W_(l+1)ᵀW_(l+1) − W_l W_lᵀ‖_F of the l-th pair of consecutive linear layers (Part I, App. A.4, "
                   "weight balancedness; metrics.balance)",
    "imbalance_relative_l": "imbalance_l / (‖W_(l+1)ᵀW_(l+1)‖_F + ‖W_l W_lᵀ‖_F), in [0, 1] (0: balanced)",
    "neuron_imbalance_l": "max over hidden neurons i of |‖W_(l+1)[:, i]‖² − ‖W_l[i, :]‖² − b_l[i]²|: what gradient "
                          "flow conserves through ReLU (Du et al. 2018)",
    "imbalance": "imbalance_l of the head's pair (the last l): Proposition A.6's balancedness",
    "imbalance_relative": "imbalance_relative_l of the head's pair",
    "t_fit": "first evaluation step with train_acc >= 0.99",
    "t_grok": "first evaluation step with test_acc >= the task's threshold (0.95 algorithmic)",
    "grok_delay": "t_grok - t_fit",
    "t_rnc1": "first evaluation step after its peak at which RNC1 <= 0.5 × the peak (Part I, Thm 4.3)",
    # Part II, beyond Figures 2 and 8-11
    "test_acc_swap_seen": "test accuracy on the test pairs (a, b) whose swap (b, a) is a training pair (Part II, "
                          "beside Figure 5)",
    "test_acc_swap_unseen": "test accuracy on the other test pairs (Part II, beside Figure 5)",
    "label_pmi": "matrix mutual information of the perturbed logits' Gram and the one-hot labels' Gram (Part II, "
                 "Appendix B, Figure 13)",
    "lemma31_lhs": "mean over training images of ||x||² ||∇ₓf(x)||²_F (Part II, Lemma 3.1; metrics.robustness_bounds)",
    "lemma31_rhs": "||W₁||₂² × mean ||∇_{W₁} f(x)||²_F, the first-layer form of Lemma 3.1's right side",
    "lemma31_slack": "lemma31_rhs / lemma31_lhs (≥ 1 when the bound holds)",
    "lemma31_sharpness_rhs": "||W₁||₂² × tr H / (2cn), Lemma 3.1's right side with the exact Gauss–Newton trace",
    "lemma31_sharpness_slack": "lemma31_sharpness_rhs / lemma31_lhs",
    "perturbation_first_order": "σ² × mean ||∇ₓf(x)||²_F, the perturbation error to first order (Part II)",
    "gauss_newton_trace": "the exact Gauss–Newton trace of the run's mean MSE objective, comparable with sharpness "
                          "(equal to the Hessian trace for a ReLU MLP; Part II)",
    "theorem59_lhs": "|ED| at α = 2, averaged over batches (Part II, Theorem 5.9)",
    "theorem59_rhs": "the book's bound on it from the output representation's perturbation (Theorem 5.9)",
    "theorem59_rhs_paper": "the paper's looser form of that bound, 4δ (Theorem 5.9)",
    "theorem59_slack": "theorem59_rhs / theorem59_lhs",
    "theorem512_lhs": "|MID| at α = 2, averaged over batches (Part II, Theorem 5.12)",
    "theorem512_rhs": "the book's bound on it from both representations' perturbations (Theorem 5.12)",
    "theorem512_rhs_paper": "the paper's looser form of that bound, 8(δ₁ + δ₂) (Theorem 5.12)",
    "theorem512_slack": "theorem512_rhs / theorem512_lhs",
    # Part IV
    "ncc": "NCC of the training features, the paper's sum form (Part IV, Definition 3.1; metrics.collapse.ncc)",
    "ncc_mean": "NCC in the authors' averaged form (Part IV; metrics.collapse.ncc_mean)",
    "relative_flatness": "relative flatness κ of the last layer on the training split, closed form (Part IV, "
                         "Definition 3.2)",
    "flatness_bound": "||w||²_F × Tr H, the cheap upper bound on κ (Part IV, Lemma A.2)",
    "angle_deviation": "mean |angle − arccos(−1/(K − 1))| of the centred class means, radians (Part IV, Figure 3)",
    "flatness_quadratic": "wᵀHw, the last layer's quadratic form beside κ's trace form, invariant to a neuron-wise "
                          "rescaling of the features (Part IV; metrics.flatness.relative_flatness_quadratic)",
    "lemma_a2_kappa": "κ on the flatness_theory probe (Part IV, Lemma A.2's left side)",
    "lemma_a2_intermediate": "(Σ_s ||w_s|| √Tr H_ss)², the middle step of Lemma A.2's proof",
    "lemma_a2_bound": "||w||²_F × Tr H on the same probe (Lemma A.2's right side)",
    "lemma_a2_slack": "lemma_a2_bound − lemma_a2_kappa",
    "lemma_a2_ratio": "lemma_a2_kappa / lemma_a2_bound, in [0, 1] when the bound holds",
    "representativeness": "test loss minus the expected training loss under Gaussian KDE perturbations of the "
                          "training features (Part IV, Appendix D; metrics.flatness_theory)",
    "representativeness_se": "its Monte-Carlo standard error",
    "representativeness_test_loss": "the test loss of representativeness",
    "representativeness_kde_loss": "the expected perturbed training loss of representativeness",
}

#: Part II's α ablation (Section 6, Figure 12; metrics.information_ablation): every split, signal and order.
GLOSSARY.update({f"{split}_{signal}_a{alpha}": f"{signal.upper()} at α = {alpha} on the {split} probe (Part II, "
                                               f"Figure 12)"
                 for split in ("train", "test") for signal in ("pmi", "pe", "mid", "ed")
                 for alpha in ("0.5", "1", "2")})
