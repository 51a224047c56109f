"""Speaker clustering of voice embeddings: spectral clustering with one eigensolve, k-means, cosine merging."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from livecastpipe.stages.diarization.engine import SpeakerCount


def _cosine_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _unit_rows(a) @ _unit_rows(b).T


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def unit_vector(vector: Sequence[float]) -> np.ndarray:
    """The vector scaled to length 1 (a zero vector stays zero)."""
    array = np.asarray(vector, dtype=np.float64)
    norm = float(np.linalg.norm(array))
    return array / norm if norm > 0 else array


def _p_pruned(similarity: np.ndarray, pval: float = 0.012, min_kept: int = 6) -> np.ndarray:
    """The affinity matrix with all but each row's largest `pval` share (at least `min_kept`) zeroed."""
    dropped = min(int((1 - pval) * similarity.shape[0]), similarity.shape[0] - min_kept)
    if dropped > 0:
        lowest = np.argsort(similarity, axis=1)[:, :dropped]
        np.put_along_axis(similarity, lowest, 0.0, axis=1)
    return similarity


def _kmeans(points: np.ndarray, k: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, random_state=0).fit_predict(points)


def _absorb_small_clusters(labels: np.ndarray, embeddings: np.ndarray, min_size: int = 4) -> np.ndarray:
    """Windows of clusters smaller than `min_size` join the most similar larger cluster."""
    clusters, sizes = np.unique(labels, return_counts=True)
    small, large = clusters[sizes < min_size], clusters[sizes >= min_size]
    if len(small) == 0:
        return labels
    if len(large) == 0:
        return np.zeros_like(labels)
    centres = np.stack([embeddings[labels == c].mean(axis=0) for c in large])
    labels = labels.copy()
    moved = np.isin(labels, small)
    labels[moved] = large[np.argmax(_cosine_similarity(embeddings[moved], centres), axis=1)]
    return labels


def _merge_similar_clusters(
    labels: np.ndarray, embeddings: np.ndarray, threshold: float, fewest: int = 1
) -> np.ndarray:
    """Merge the two clusters with the most similar centroids until none are `threshold` alike, or only
    `fewest` are left."""
    labels = labels.copy()
    while len(clusters := np.unique(labels)) > fewest:
        centres = np.stack([embeddings[labels == c].mean(axis=0) for c in clusters])
        affinity = np.triu(_cosine_similarity(centres, centres), 1)
        first, second = np.unravel_index(np.argmax(affinity), affinity.shape)
        if affinity[first, second] < threshold:
            break
        labels[labels == clusters[second]] = clusters[first]
    return labels


NEAR_LARGEST_GAP = 0.75
"""Eigen-gaps at least this share of the largest are taken as ties, and the largest count among them is
clustered: the cosine merge then joins a voice split in two, while a voice joined to another is never
split again. With the largest gap alone, float-rounding changes in the features flipped a 5-voice panel
between 4 and 5 voices (gaps 0.105, 0.103, 0.094 for 4, 6 and 9 clusters)."""


def _spectral_labels(embeddings: np.ndarray, count: SpeakerCount, merge_cosine: float) -> tuple[np.ndarray, int]:
    """Spectral clustering of speaker embeddings with one eigensolve: 3D-Speaker's recipe (Apache-2.0),
    as senko 0.2.2 runs it, rewritten without its UMAP/HDBSCAN imports.

    Returns labels and the count the eigen-gap (then the cosine merge) would choose on its own, so a
    stated panel size can be checked against the audio. A stated count is always met: the audio's own
    clusters when they are that many, the most alike merged when they are more, the eigenvectors split
    into that many when they are fewer.
    """
    from scipy.linalg import eigh

    maximum = max(1, min(count.maximum, len(embeddings) - 2))
    laplacian = _p_pruned(_cosine_similarity(embeddings, embeddings)).astype(np.float64)
    laplacian += laplacian.T  # symmetrise (×2 leaves the eigenvectors and the eigen-gap choice unchanged)
    np.fill_diagonal(laplacian, 0.0)
    degrees = laplacian.sum(axis=1)
    laplacian *= -1.0
    laplacian[np.diag_indices_from(laplacian)] = degrees  # L = D - A, built in place to spare memory
    top = min(len(embeddings) - 1, max(maximum, count.exact or 0, count.minimum) + 1)
    eigenvalues, eigenvectors = eigh(laplacian, subset_by_index=[0, top], overwrite_a=True, check_finite=False)
    del laplacian

    def cluster(k: int) -> np.ndarray:
        k = max(1, min(k, eigenvectors.shape[1]))
        return _absorb_small_clusters(_kmeans(eigenvectors[:, :k], k), embeddings)

    gaps = np.diff(eigenvalues[: maximum + 1])
    by_gap = int(np.flatnonzero(gaps >= NEAR_LARGEST_GAP * gaps.max())[-1]) + 1 if len(gaps) else 1
    estimated_labels = cluster(min(max(by_gap, count.minimum), maximum))
    merged = _merge_similar_clusters(estimated_labels, embeddings, merge_cosine)
    if len(np.unique(merged)) >= count.minimum:
        estimated_labels = merged
    estimated = len(np.unique(estimated_labels))
    if count.exact is None or estimated == count.exact:
        return estimated_labels, estimated
    if estimated > count.exact:  # the most alike voices are taken for one, as the cosine merge would
        return _merge_similar_clusters(estimated_labels, embeddings, -1.0, count.exact), estimated
    return cluster(count.exact), estimated


MAX_CLUSTERED_WINDOWS = 3000
"""Above this many windows (about 40 min of speech) a regular sample is clustered and every window
joins the nearest speaker centroid: the affinity matrix grows with the square of the windows (4000
windows already need about 200 MB per copy), so this keeps memory flat for 2-hour recordings."""


def cluster_windows(embeddings: np.ndarray, count: SpeakerCount, merge_cosine: float) -> tuple[np.ndarray, int]:
    """Speaker labels for every window (and the count the audio suggests), in bounded memory."""
    if len(embeddings) <= MAX_CLUSTERED_WINDOWS:
        return _spectral_labels(embeddings, count, merge_cosine)
    stride = math.ceil(len(embeddings) / MAX_CLUSTERED_WINDOWS)
    sample = embeddings[::stride]
    sample_labels, estimated = _spectral_labels(sample, count, merge_cosine)
    speakers = np.unique(sample_labels)
    centroids = np.stack([unit_vector(sample[sample_labels == label].mean(axis=0)) for label in speakers])
    normalised = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    return speakers[np.argmax(normalised @ centroids.T, axis=1)], estimated
