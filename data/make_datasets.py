#!/usr/bin/env python3
"""Regenerate the small tabular datasets shipped in data/ from scikit-learn's wheel.

The CSVs in this folder (iris, wine, breast_cancer, digits, diabetes, linnerud)
are copies of the data files that scikit-learn bundles in
``sklearn/datasets/data/``, converted to plain CSV with a header row and named
target column(s).  The files are read the same way sklearn's loaders in
``sklearn/datasets/_base.py`` read them.

Usage (needs numpy; scikit-learn itself is *not* installed, only its wheel is
unpacked to get at the data files):

    pip download --no-deps scikit-learn -d /tmp/skl
    mkdir -p /tmp/skl/wheel && (cd /tmp/skl/wheel && unzip -q ../scikit_learn-*.whl)
    python3 data/make_datasets.py /tmp/skl/wheel [OUT_DIR]

OUT_DIR defaults to the folder this script lives in (data/).

Conventions of the output files:
  * written with Python's csv module, comma-separated, "\\n" line endings,
    no index column;
  * numbers that are copied from a source file are written as the exact text
    token found in that file (so no float formatting round trip happens);
  * numbers that are computed (the scaled diabetes features) or parsed from
    scientific notation (the diabetes target) are written with ``repr`` of the
    float64 value, i.e. the shortest string that round-trips exactly.
"""

import csv
import gzip
import io
import os
import sys

import numpy as np

# Feature names exactly as sklearn's load_* functions define them
# (sklearn/datasets/_base.py); they are checked against the wheel's source below.
IRIS_SKLEARN_NAMES = [
    "sepal length (cm)",
    "sepal width (cm)",
    "petal length (cm)",
    "petal width (cm)",
]
IRIS_NAMES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]

WINE_SKLEARN_NAMES = [
    "alcohol",
    "malic_acid",
    "ash",
    "alcalinity_of_ash",
    "magnesium",
    "total_phenols",
    "flavanoids",
    "nonflavanoid_phenols",
    "proanthocyanins",
    "color_intensity",
    "hue",
    "od280/od315_of_diluted_wines",
    "proline",
]

BREAST_CANCER_SKLEARN_NAMES = [
    "mean radius",
    "mean texture",
    "mean perimeter",
    "mean area",
    "mean smoothness",
    "mean compactness",
    "mean concavity",
    "mean concave points",
    "mean symmetry",
    "mean fractal dimension",
    "radius error",
    "texture error",
    "perimeter error",
    "area error",
    "smoothness error",
    "compactness error",
    "concavity error",
    "concave points error",
    "symmetry error",
    "fractal dimension error",
    "worst radius",
    "worst texture",
    "worst perimeter",
    "worst area",
    "worst smoothness",
    "worst compactness",
    "worst concavity",
    "worst concave points",
    "worst symmetry",
    "worst fractal dimension",
]

DIABETES_NAMES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]


def csv_friendly(name):
    return name.replace("/", "_").replace(" ", "_")


def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for row in rows:
            w.writerow(row)
    print(f"wrote {path}: {len(rows)} rows x {len(header)} columns")


def check_float(tok):
    """Raise unless tok parses as a finite float64 (as sklearn's loaders need)."""
    v = float(tok)
    if not np.isfinite(v):
        raise ValueError(f"non-finite value {tok!r}")
    if tok != tok.strip():
        raise ValueError(f"token with whitespace {tok!r}")
    return v


def read_sklearn_csv(path):
    """Mirror sklearn.datasets._base.load_csv_data, but keep the text tokens.

    First row: n_samples, n_features, target names...; each data row: features
    then an integer class id.
    """
    with open(path, "r", encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        head = next(reader)
        n_samples, n_features = int(head[0]), int(head[1])
        target_names = head[2:]
        rows = []
        for ir in reader:
            feats, tgt = ir[:-1], ir[-1]
            if len(feats) != n_features:
                raise ValueError(f"{path}: row {len(rows)} has {len(feats)} features")
            for t in feats:
                check_float(t)
            rows.append((feats, target_names[int(tgt)]))
    if len(rows) != n_samples:
        raise ValueError(f"{path}: {len(rows)} rows, header says {n_samples}")
    return rows, target_names


def load_gz_text(path):
    with gzip.open(path, mode="rt", encoding="utf-8") as f:
        return f.read()


def sklearn_scale(X):
    """sklearn.preprocessing.scale(X, copy=False) for a dense float64 array
    (axis=0, with_mean=True, with_std=True), step for step as in
    sklearn/preprocessing/_data.py."""
    X = np.asarray(X, dtype=np.float64)
    mean_ = np.nanmean(X, 0)
    scale_ = np.nanstd(X, 0)
    Xr = np.rollaxis(X, 0)
    Xr -= mean_
    mean_1 = np.nanmean(Xr, axis=0)
    if not np.allclose(mean_1, 0):
        Xr -= mean_1
    # _handle_zeros_in_scale
    scale_ = scale_.copy()
    scale_[scale_ < 10 * np.finfo(scale_.dtype).eps] = 1.0
    Xr /= scale_
    mean_2 = np.nanmean(Xr, axis=0)
    if not np.allclose(mean_2, 0):
        Xr -= mean_2
    return X


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    wheel = argv[1]
    out = argv[2] if len(argv) > 2 else os.path.dirname(os.path.abspath(__file__))
    ds = os.path.join(wheel, "sklearn", "datasets")
    dd = os.path.join(ds, "data")
    with open(os.path.join(ds, "_base.py"), encoding="utf-8") as f:
        base_src = f.read()
    for n in IRIS_SKLEARN_NAMES + WINE_SKLEARN_NAMES + BREAST_CANCER_SKLEARN_NAMES + DIABETES_NAMES:
        if f'"{n}"' not in base_src:
            raise SystemExit(f"feature name {n!r} not found in the wheel's _base.py")
    if '"pixel_{}_{}".format(row_idx, col_idx)' not in base_src:
        raise SystemExit("digits feature naming changed in the wheel's _base.py")
    if "data /= data.shape[0] ** 0.5" not in base_src or "data = scale(data, copy=False)" not in base_src:
        raise SystemExit("load_diabetes scaling changed in the wheel's _base.py")

    # iris
    rows, names = read_sklearn_csv(os.path.join(dd, "iris.csv"))
    assert names == ["setosa", "versicolor", "virginica"], names
    write_csv(os.path.join(out, "iris.csv"), IRIS_NAMES + ["species"],
              [feats + [t] for feats, t in rows])

    # wine
    rows, names = read_sklearn_csv(os.path.join(dd, "wine_data.csv"))
    assert names == ["class_0", "class_1", "class_2"], names
    write_csv(os.path.join(out, "wine.csv"),
              [csv_friendly(n) for n in WINE_SKLEARN_NAMES] + ["cultivar"],
              [feats + [t] for feats, t in rows])

    # breast cancer (sklearn target 0 = malignant, 1 = benign)
    rows, names = read_sklearn_csv(os.path.join(dd, "breast_cancer.csv"))
    assert names == ["malignant", "benign"], names
    write_csv(os.path.join(out, "breast_cancer.csv"),
              [csv_friendly(n) for n in BREAST_CANCER_SKLEARN_NAMES] + ["diagnosis"],
              [feats + [t] for feats, t in rows])

    # digits: np.loadtxt(..., delimiter=","), last column is the digit
    text = load_gz_text(os.path.join(dd, "digits.csv.gz"))
    data = np.loadtxt(io.StringIO(text), delimiter=",")
    tok_rows = [line.split(",") for line in text.splitlines() if line.strip()]
    assert data.shape == (len(tok_rows), 65), data.shape
    out_rows = []
    for i, toks in enumerate(tok_rows):
        for j, t in enumerate(toks):
            v = int(t)  # every token is a plain integer
            assert v == data[i, j]
            assert (0 <= v <= 16) if j < 64 else (0 <= v <= 9), (i, j, t)
        out_rows.append(toks)
    header = [f"pixel_{r}_{c}" for r in range(8) for c in range(8)] + ["digit"]
    write_csv(os.path.join(out, "digits.csv"), header, out_rows)

    # diabetes: raw data (whitespace separated), scaled like load_diabetes(scaled=True)
    raw = np.loadtxt(io.StringIO(load_gz_text(os.path.join(dd, "diabetes_data_raw.csv.gz"))))
    target = np.loadtxt(io.StringIO(load_gz_text(os.path.join(dd, "diabetes_target.csv.gz"))))
    assert raw.shape == (442, 10) and target.shape == (442,), (raw.shape, target.shape)
    X = sklearn_scale(raw)
    X /= X.shape[0] ** 0.5
    # documented property: each column is centred with unit sum of squares
    assert np.allclose(X.mean(axis=0), 0, atol=1e-12)
    assert np.allclose((X ** 2).sum(axis=0), 1.0)
    rows = [[repr(float(v)) for v in X[i]] + [repr(float(target[i]))] for i in range(X.shape[0])]
    write_csv(os.path.join(out, "diabetes.csv"), DIABETES_NAMES + ["progression"], rows)

    # linnerud: whitespace separated, header row, np.loadtxt(skiprows=1)
    def read_ws(path):
        with open(path, "r", encoding="utf-8") as f:
            lines = [ln for ln in f.read().splitlines() if ln.strip()]
        header = lines[0].split()
        toks = [ln.split() for ln in lines[1:]]
        arr = np.loadtxt(path, skiprows=1)
        assert arr.shape == (len(toks), len(header))
        for i, r in enumerate(toks):
            for j, t in enumerate(r):
                assert check_float(t) == arr[i, j]
        return [h.lower() for h in header], toks

    fh, ft = read_ws(os.path.join(dd, "linnerud_exercise.csv"))
    th, tt = read_ws(os.path.join(dd, "linnerud_physiological.csv"))
    assert fh == ["chins", "situps", "jumps"] and th == ["weight", "waist", "pulse"], (fh, th)
    assert len(ft) == len(tt) == 20
    write_csv(os.path.join(out, "linnerud.csv"), fh + th, [a + b for a, b in zip(ft, tt)])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
