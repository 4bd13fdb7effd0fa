"""Hub attack: perturb a song's waveform (bounded L-infinity) so that it enters many other songs' k-NN lists.

After Hoedt, Prinz, Flexer and Widmer (SMC 2022, "Defending a music recommender against hubness-based
adversarial attacks"; code CPJKU/hub_defence): a song *succeeds* when its perturbed version becomes a hub of the
recommender, N_k >= hub_size * k (k = 5). Songs that already are hubs are skipped. Success rate =
successes / (successes + failures); the SNR of the successful examples is reported.

Our recommender is the k-NN of an audio model's penultimate embedding (not the paper's MFCC Gaussians with KL),
and our loss is our own: instead of pulling the song towards one existing hub, it pulls the song's embedding
inside the k-NN radius of the ``n_targets`` songs it is closest to entering,

    loss = alpha * mean_y relu(|e(x + delta) - e_y| - (1 - margin) r_k(y)) / scale + sum(delta^2),

(r_k(y): y's k-th neighbour distance without the attacked song; scale: median r_k), optimised with Adam on the
sign of the gradient, delta clipped to [-eps, eps] (and x + delta to [-1, 1]) after every step. Success is judged
on the actual recommender every ``check_every`` steps: without defence on Euclidean k-NN; with the ``mp`` defence
on empirical Mutual Proximity re-ranking of each song's m candidates. By default the attacker does not adapt its
loss to MP (the paper's C&W_KL^mod setting); with ``adaptive=True`` the hinge is on a smooth MP surrogate instead
(indicators replaced by sigmoids, as the paper's C&W_MP^mod replaces them by tanh): relu(MP~(y, song) - (1 - margin)
* y's k-th MP distance), for the same targets.

Exactness of the defended check: the attacked song's MP values against every other song are recomputed exactly
over all n songs; the other songs' own MP lists (and their k-th MP distance) are those of the clean collection
with the attacked song left out. The attacked song's move changes those only through one of the n - 2 counted
songs (at most 1/(n - 2) per MP value).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np

from xai.errors import InputError, ParameterError

__all__ = ["AttackOptions", "Collection", "SongResult", "attack", "summarise", "snr_db", "PAPER"]

DEFENCES = ("none", "mp")

# Hoedt et al. 2022 (arXiv 2205.12032), abstract and supplementary material; the per-setting table is in the PDF.
PAPER = {
    "source": "Hoedt, Prinz, Flexer, Widmer: Defending a Music Recommender Against Hubness-Based Adversarial "
              "Attacks, SMC 2022 (arXiv 2205.12032); code CPJKU/hub_defence",
    "recommender": "one Gaussian per song over 20 MFCCs, symmetrised KL divergence, k = 5, FM4 Soundpark songs",
    "success_rate_undefended": "about 0.44",
    "success_rate_with_mp": "below 0.06",
    "snr": "adversarial examples that still succeed against MP have a lower average SNR",
    "snr_examples_db": {"original attack": [50.6, 32.7], "C&W_KL^mod (after MP)": [42.5, 28.2],
                        "C&W_MP^mod (adaptive)": [46.4, 40.1]},
    "parameters": {"eps_original": 0.1, "lr": 0.001, "alpha": 25, "eps_adaptive": 1.0},
}


def snr_db(x, delta) -> float:
    """SNR of a perturbation in dB, 20 log10(|x| / |delta|) over the whole clip (no trim); xai.attacks.waveform.snr_db
    when that module is there."""
    try:
        from xai.attacks.waveform import snr_db as _snr
    except ImportError:
        _snr = None
    if _snr is not None:
        return float(_snr(x, delta))
    x, delta = np.asarray(x, np.float64).ravel(), np.asarray(delta, np.float64).ravel()
    nd = np.linalg.norm(delta)
    return float("inf") if nd == 0 else float(20 * np.log10(np.linalg.norm(x) / nd))


@dataclass(frozen=True)
class AttackOptions:
    k: int = 5
    hub_size: float = 5.0  # success: N_k >= hub_size * k (hub_defence analysis default; k = 5 -> N_5 >= 25)
    eps: float = 0.003  # L-infinity bound on the waveform perturbation (full scale = 1)
    lr: float = 0.0005
    alpha: float = 25.0
    margin: float = 0.05
    n_targets: int = 20
    steps: int = 50
    check_every: int = 5
    candidates: int = 50  # m for the MP defence
    adaptive: bool = False  # against MP: the loss goes through a smooth MP surrogate (the paper's C&W_MP^mod idea)
    temperature: float = 0.05  # of the surrogate's sigmoids, as a share of the median k-NN radius

    def check(self) -> AttackOptions:
        if not 0 < self.eps <= 1:
            raise ParameterError(f"The perturbation bound 'eps' must be in (0, 1], got {self.eps}.")
        if self.steps < 1 or self.check_every < 1 or self.n_targets < 1:
            raise ParameterError("'steps', 'check_every' and 'n_targets' must be at least 1.")
        return self


class Collection:
    """The recommender's song collection: what a check "does song q enter others' k-NN lists?" needs."""

    def __init__(self, X, *, k: int = 5, defence: str = "none", candidates: int = 50, hub_size: float = 5.0):
        from xai.recommender import hubness

        if defence not in DEFENCES:
            raise ParameterError(f"There is no defence '{defence}'; choose one of {', '.join(DEFENCES)}.")
        X = hubness.check_vectors(X, duplicates=False)
        n = X.shape[0]
        self.k = hubness.check_k(k, n - 1)
        self.m = min(candidates, n - 2)
        self.defence, self.hub_size, self.n = defence, hub_size, n
        self.X = X
        sq = np.einsum("ij,ij->i", X, X)
        D = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * X @ X.T, 0)).astype(np.float32)
        np.fill_diagonal(D, np.inf)
        self.D = D
        order = np.argsort(D, axis=1, kind="stable")[:, : self.m + 1]
        self.raw_i = order  # (n, m+1) nearest first
        self.raw_d = np.take_along_axis(D, order, axis=1)
        if defence == "mp":
            ci, cd = order[:, : self.m], self.raw_d[:, : self.m]
            mp = np.empty_like(cd, dtype=np.float64)
            Dz = D.copy()
            np.fill_diagonal(Dz, 0.0)  # self is never "farther"
            for s in range(0, n, 64):
                e = min(n, s + 64)
                t = cd[s:e, :, None]
                far = (Dz[s:e, None, :] > t) & (Dz[ci[s:e]] > t)  # (b, m, n)
                mp[s:e] = 1.0 - far.sum(axis=2) / (n - 2)
            o = np.argsort(mp, axis=1, kind="stable")[:, : self.k + 1]
            self.mp_i = np.take_along_axis(ci, o, axis=1)
            self.mp_d = np.take_along_axis(mp, o, axis=1)
            lists = self.mp_i[:, : self.k]
        else:
            lists = self.raw_i[:, : self.k]
        self.k_occurrence = np.bincount(lists.ravel(), minlength=n)

    def hubs(self) -> np.ndarray:
        return np.flatnonzero(self.k_occurrence >= self.hub_size * self.k)

    def _without(self, idx: np.ndarray, dist: np.ndarray, q: int, r: int) -> np.ndarray:
        """Each row's r-th (1-based) value with song q left out (rows hold r + 1 sorted entries)."""
        has_q = (idx[:, :r] == q).any(axis=1)
        return np.where(has_q, dist[:, r], dist[:, r - 1])

    def radius(self, q: int) -> np.ndarray:
        """Each song's k-th neighbour distance with song q left out (Euclidean)."""
        return self._without(self.raw_i, self.raw_d, q, self.k)

    def entered(self, q: int, e) -> np.ndarray:
        """Boolean (n,): which songs' k-NN lists song q enters when its embedding is ``e``."""
        d = np.sqrt(np.maximum(((self.X - np.asarray(e, np.float32)) ** 2).sum(axis=1), 0))
        d[q] = np.inf
        if self.defence == "none":
            return d < self.radius(q)
        cand = d < self._without(self.raw_i, self.raw_d, q, self.m)
        out = np.zeros(self.n, bool)
        ys = np.flatnonzero(cand)
        if ys.size:
            t = d[ys][:, None]
            Dy = self.D[ys].copy()
            Dy[np.arange(ys.size), ys] = 0.0
            dq = d.copy()
            dq[q] = 0.0  # q's old self is not a third song
            Dy[:, q] = 0.0
            far = ((Dy > t) & (dq[None, :] > t)).sum(axis=1)
            mp = 1.0 - far / (self.n - 2)
            thr = self._without(self.mp_i, self.mp_d, q, self.k)[ys]
            out[ys] = mp < thr
        return out

    def n_k(self, q: int, e) -> int:
        return int(self.entered(q, e).sum())


@dataclass
class SongResult:
    item: int
    status: str  # 'yes' (became a hub), 'no', 'hub' (already a hub: skipped)
    nk_before: int
    nk_after: int
    snr_db: float | None
    linf: float
    steps: int
    seconds: float = 0.0
    nk_trace: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _embed_fn(net):
    return net.embed


def attack(net, collection: Collection, items, waveforms, options: AttackOptions = AttackOptions(), *,
           progress=None, keep_waveforms: bool = False):
    """Attack each song ``items[i]`` (waveform ``waveforms[i]``, float32 in [-1, 1]) in one batch.

    Returns a list of :class:`SongResult` (and the perturbed waveforms when ``keep_waveforms``). The L-infinity
    bound holds after every step: |delta| <= eps and x + delta in [-1, 1].
    """
    import torch

    options.check()
    items = [int(i) for i in items]
    x = torch.as_tensor(np.asarray(waveforms, np.float32))
    if x.ndim != 2 or x.shape[0] != len(items):
        raise InputError("Give one waveform per attacked song.")
    t0 = time.perf_counter()
    col, k = collection, options.k
    if k != col.k:
        raise ParameterError(f"The collection was prepared for k = {col.k}, the attack asks for k = {k}.")
    embed = _embed_fn(net)
    with torch.no_grad():
        e0 = embed(x).numpy()
    B = len(items)
    need = options.hub_size * k
    results = []
    targets, radii = [], []
    for b, q in enumerate(items):
        nk0 = col.n_k(q, e0[b])
        results.append(SongResult(item=q, status="hub" if nk0 >= need else "no", nk_before=nk0, nk_after=nk0,
                                  snr_db=None, linf=0.0, steps=0, nk_trace=[nk0]))
        r = col.radius(q)
        d = np.sqrt(((col.X - e0[b]) ** 2).sum(axis=1))
        gap = d - r
        gap[q] = np.inf
        tg = np.argsort(gap, kind="stable")[: options.n_targets]
        targets.append(tg)
        radii.append(r[tg])
    T = torch.as_tensor(np.stack([col.X[t] for t in targets]))  # (B, n_targets, d)
    R = torch.as_tensor(np.stack(radii), dtype=torch.float32)
    scale = float(np.median(col.raw_d[:, k - 1]))
    adaptive = options.adaptive and col.defence == "mp"
    if adaptive:
        # smooth MP(y, song) = 1 - sum_j sig((d(y,j) - t)/tau) sig((d(song,j) - t)/tau) / (n - 2), t = d(y, song)
        Xall = torch.as_tensor(col.X)
        Dt = np.stack([col.D[t] for t in targets]).astype(np.float32)  # (B, n_targets, n)
        for b, (q, tg) in enumerate(zip(items, targets, strict=True)):
            Dt[b, :, q] = -np.inf  # the song's old self is not a third song
            Dt[b, np.arange(len(tg)), tg] = -np.inf  # nor is y itself
        Dt = torch.as_tensor(Dt)
        thr = torch.as_tensor(np.stack([col._without(col.mp_i, col.mp_d, q, k)[tg]
                                        for q, tg in zip(items, targets, strict=True)]), dtype=torch.float32)
        tau = options.temperature * scale
        mp_scale = float(np.median(col.mp_d[:, k - 1]))
    active = torch.tensor([r.status == "no" for r in results])
    delta = torch.zeros_like(x)
    m1 = torch.zeros_like(x)
    v = torch.zeros_like(x)
    b1, b2, aeps = 0.9, 0.999, 1e-8
    eps = options.eps
    for step in range(1, options.steps + 1):
        if not bool(active.any()):
            break
        delta.requires_grad_(True)
        e = embed(x + delta)
        dist = torch.linalg.norm(e[:, None, :] - T, dim=2)
        if adaptive:
            dall = torch.cdist(e, Xall)  # (B, n)
            t = dist[:, :, None]
            far = torch.sigmoid((Dt - t) / tau) * torch.sigmoid((dall[:, None, :] - t) / tau)
            mp = 1.0 - far.sum(dim=2) / (col.n - 2)
            hinge = torch.relu(mp - (1 - options.margin) * thr).mean(dim=1) / mp_scale
        else:
            hinge = torch.relu(dist - (1 - options.margin) * R).mean(dim=1) / scale
        loss = (options.alpha * hinge + (delta**2).sum(dim=1))[active].sum()
        (g,) = torch.autograd.grad(loss, delta)
        with torch.no_grad():
            s = torch.sign(g)
            m1 = b1 * m1 + (1 - b1) * s
            v = b2 * v + (1 - b2) * s * s
            upd = options.lr * (m1 / (1 - b1**step)) / (torch.sqrt(v / (1 - b2**step)) + aeps)
            upd[~active] = 0.0
            delta = delta.detach() - upd
            delta = torch.clamp(delta, -eps, eps)
            delta = torch.clamp(x + delta, -1.0, 1.0) - x  # stays within eps: x itself is in [-1, 1]
        if step % options.check_every == 0 or step == options.steps:
            with torch.no_grad():
                e_now = embed(x + delta).numpy()
            for b, r in enumerate(results):
                if not bool(active[b]):
                    continue
                nk = col.n_k(r.item, e_now[b])
                r.nk_after, r.steps = nk, step
                r.nk_trace.append(nk)
                if nk >= need:
                    r.status = "yes"
                    active[b] = False
            if progress:
                done = sum(r.status != "no" for r in results)
                progress(step / options.steps, f"step {step} of {options.steps}: {done} of {B} songs are hubs")
    xn, dn = x.numpy(), delta.detach().numpy()
    for b, r in enumerate(results):
        if r.status != "hub":
            r.snr_db = snr_db(xn[b], dn[b])
            r.linf = float(np.abs(dn[b]).max())
        r.seconds = (time.perf_counter() - t0) / B
    if keep_waveforms:
        return results, xn + dn
    return results


def summarise(results: list[SongResult]) -> dict:
    """Success rate (yes / (yes + no); songs already hubs excluded) and SNR statistics."""
    yes = [r for r in results if r.status == "yes"]
    no = [r for r in results if r.status == "no"]
    tried = len(yes) + len(no)
    snr_yes = np.array([r.snr_db for r in yes], float)
    snr_all = np.array([r.snr_db for r in yes + no], float)

    def stats(a):
        a = a[np.isfinite(a)]
        return None if a.size == 0 else {"mean": float(a.mean()), "sd": float(a.std()), "min": float(a.min()),
                                         "max": float(a.max()), "n": int(a.size)}

    return {"songs": len(results), "already_hubs": len(results) - tried, "attacked": tried, "successes": len(yes),
            "success_rate": None if tried == 0 else len(yes) / tried,
            "snr_db_successful": stats(snr_yes), "snr_db_all": stats(snr_all),
            "nk_after_successful_mean": float(np.mean([r.nk_after for r in yes])) if yes else None,
            "nk_before_mean": float(np.mean([r.nk_before for r in yes + no])) if tried else None,
            "linf_max": float(max((r.linf for r in results), default=0.0))}


def pick_songs(emb, n_songs: int, *, seed: int = 0) -> np.ndarray:
    """Songs to attack: audio items whose clip re-renders exactly (TimGM6mb soundfont), drawn with ``seed``."""
    if emb.collection != "audio":
        raise InputError(f"The embedding '{emb.name}' is of score excerpts; the hub attack perturbs recordings, so "
                         "choose an audio model's embedding.")
    pool = np.flatnonzero(np.asarray(emb.meta["soundfont"]) == emb.meta["soundfont_names"].index("timgm6mb"))
    if n_songs < 1 or n_songs > pool.size:
        raise ParameterError(f"The number of songs must be between 1 and {pool.size}, got {n_songs}.")
    return np.sort(np.random.default_rng(seed).choice(pool, size=n_songs, replace=False))


def run_job(emb, net, defences=DEFENCES, *, n_songs: int = 40, seed: int = 0, options: AttackOptions = AttackOptions(),
            batch: int = 8, progress=None) -> dict:
    """The success-rate job: the same songs attacked against each defence; parameters and numbers as JSON."""
    from xai.recommender import embeddings

    t0 = time.perf_counter()
    options.check()
    for p in net.parameters():
        p.requires_grad_(False)
    items = pick_songs(emb, n_songs, seed=seed)
    waves = np.stack([embeddings.clip_waveform(emb, int(i))[0] for i in items])
    out = {"embedding": emb.name, "n": len(emb), "songs": items.tolist(), "seed": seed,
           "options": asdict(options), "defences": {}, "paper": PAPER}
    for d in defences:
        col = Collection(emb.vectors, k=options.k, defence=d, candidates=options.candidates, hub_size=options.hub_size)
        res = []
        for s in range(0, len(items), batch):
            res += attack(net, col, items[s:s + batch], waves[s:s + batch], options)
            if progress:
                progress(f"{d}: {len(res)} of {len(items)} songs, {time.perf_counter() - t0:.0f} s")
        out["defences"][d] = {"summary": summarise(res), "hubs_in_collection": int(col.hubs().size),
                              "songs": [r.to_dict() for r in res]}
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out
