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

import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from xai.contract import Options, Progress, Result, option
from xai.errors import InputError, ParameterError
from xai.recommender import embeddings, hubness

__all__ = ["HubAttackOptions", "DEFENCES", "Collection", "SongResult", "SongAttack", "attack", "attack_song",
           "summarise", "snr_db", "PAPER"]

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
class HubAttackOptions(Options):
    """How to attack a song so that it becomes a hub (bounds and help used by the CLI flags and the page).

    Named apart from :class:`xai.attacks.waveform.AttackOptions` (the classifier attack): this one drives the
    recommender's hub attack.
    """

    k: int = option(5, low=1, help="Neighbours per recommendation list (the paper's k = 5).")
    hub_size: float = option(5.0, low=0.0, help="Success: N_k >= hub-size * k (hub_defence's analysis default).")
    eps: float = option(0.003, low=0.0, high=1.0, label="L∞ bound",
                        help="L-infinity bound on the waveform perturbation (full scale = 1).")
    lr: float = option(0.0005, low=0.0, help="Sign-Adam step size (full scale = 1).")
    alpha: float = option(25.0, low=0.0, help="Weight of the hinge against the perturbation's energy.")
    margin: float = option(0.05, low=0.0, high=1.0, help="How far inside a target's k-NN radius to pull the song.")
    n_targets: int = option(20, low=1, help="How many songs' lists the song is pulled into at once.")
    steps: int = option(50, low=1, high=1000, help="Sign-Adam steps.")
    check_every: int = option(5, low=1, help="Steps between checks on the actual recommender.")
    candidates: int = option(50, low=1, help="Candidate neighbours per song that the MP defence re-ranks.")
    adaptive: bool = option(False, help="Against MP: attack through a smooth Mutual Proximity surrogate "
                                        "(the paper's C&W_MP^mod idea).")
    temperature: float = option(0.05, low=0.0, help="The surrogate's sigmoid temperature, as a share of the median "
                                                    "k-NN radius.")

    def __post_init__(self):
        super().__post_init__()
        if self.eps == 0:
            raise ParameterError(f"The perturbation bound 'eps' must be in (0, 1], got {self.eps}.")

    def check(self) -> HubAttackOptions:
        """The options themselves (they are validated when made; kept for callers that chain it)."""
        return self


class Collection:
    """The recommender's song collection: what a check "does song q enter others' k-NN lists?" needs."""

    def __init__(self, X, *, k: int = 5, defence: str = "none", candidates: int = 50, hub_size: float = 5.0):
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
        """The songs that already are hubs of the collection."""
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
        """How many songs' k-NN lists song q enters when its embedding is ``e``."""
        return int(self.entered(q, e).sum())


@dataclass(frozen=True)
class SongResult(Result):
    """One attacked song: whether it became a hub, its k-occurrence before and after, and the perturbation's size."""

    item: int
    status: str  # 'yes' (became a hub), 'no', 'hub' (already a hub: skipped)
    nk_before: int
    nk_after: int
    snr_db: float | None
    linf: float
    steps: int
    seconds: float = 0.0
    nk_trace: tuple[int, ...] = ()


def _embed_fn(net):
    return net.embed


def _targets(col: Collection, items: list[int], e0: np.ndarray, n_targets: int):
    """Each song's ``n_targets`` nearest lists to enter (smallest gap to their k-NN radius) and those radii."""
    targets, radii = [], []
    for b, q in enumerate(items):
        r = col.radius(q)
        gap = np.sqrt(((col.X - e0[b]) ** 2).sum(axis=1)) - r
        gap[q] = np.inf
        tg = np.argsort(gap, kind="stable")[:n_targets]
        targets.append(tg)
        radii.append(r[tg])
    return targets, radii


def _adaptive_terms(col: Collection, items: list[int], targets, k: int, tau: float):
    """What the smooth MP surrogate needs: all vectors, the targets' distance rows, their k-th MP distances.

    smooth MP(y, song) = 1 - sum_j sig((d(y,j) - t)/tau) sig((d(song,j) - t)/tau) / (n - 2), t = d(y, song).
    """
    import torch  # heavy: only an attack needs it

    Dt = np.stack([col.D[t] for t in targets]).astype(np.float32)  # (B, n_targets, n)
    for b, (q, tg) in enumerate(zip(items, targets, strict=True)):
        Dt[b, :, q] = -np.inf  # the song's old self is not a third song
        Dt[b, np.arange(len(tg)), tg] = -np.inf  # nor is y itself
    thr = torch.as_tensor(np.stack([col._without(col.mp_i, col.mp_d, q, k)[tg]
                                    for q, tg in zip(items, targets, strict=True)]), dtype=torch.float32)
    return {"X": torch.as_tensor(col.X), "D": torch.as_tensor(Dt), "thr": thr, "tau": tau,
            "scale": float(np.median(col.mp_d[:, k - 1])), "n": col.n}


def _hinge(e, T, R, options: HubAttackOptions, scale: float, adaptive: dict | None):
    """Per song: how far its embedding is from inside its targets' k-NN radii (or MP radii, adaptive)."""
    import torch  # heavy: only an attack needs it

    dist = torch.linalg.norm(e[:, None, :] - T, dim=2)
    if adaptive is None:
        return torch.relu(dist - (1 - options.margin) * R).mean(dim=1) / scale
    a = adaptive
    t = dist[:, :, None]
    far = torch.sigmoid((a["D"] - t) / a["tau"]) * torch.sigmoid((torch.cdist(e, a["X"])[:, None, :] - t) / a["tau"])
    mp = 1.0 - far.sum(dim=2) / (a["n"] - 2)
    return torch.relu(mp - (1 - options.margin) * a["thr"]).mean(dim=1) / a["scale"]


class _SignAdam:
    """Adam on the sign of the gradient, delta kept within the L-infinity ball and x + delta within [-1, 1]."""

    def __init__(self, x, lr: float, eps: float):
        import torch  # heavy: only an attack needs it

        self.x, self.lr, self.eps = x, lr, eps
        self.m, self.v = torch.zeros_like(x), torch.zeros_like(x)
        self.b1, self.b2, self.tiny = 0.9, 0.999, 1e-8

    def step(self, delta, g, step: int, active):
        """The next delta (frozen songs, ``~active``, do not move)."""
        import torch  # heavy: only an attack needs it

        with torch.no_grad():
            s = torch.sign(g)
            self.m = self.b1 * self.m + (1 - self.b1) * s
            self.v = self.b2 * self.v + (1 - self.b2) * s * s
            upd = self.lr * (self.m / (1 - self.b1**step)) / (torch.sqrt(self.v / (1 - self.b2**step)) + self.tiny)
            upd[~active] = 0.0
            delta = torch.clamp(delta.detach() - upd, -self.eps, self.eps)
            return torch.clamp(self.x + delta, -1.0, 1.0) - self.x  # stays within eps: x itself is in [-1, 1]


def attack(waveforms, net, *, items, collection: Collection, options: HubAttackOptions = HubAttackOptions(),
           progress: Progress | None = None, keep_waveforms: bool = False):
    """Attack each song ``items[i]`` (waveform ``waveforms[i]``, float32 in [-1, 1]) in one batch.

    Returns a list of :class:`SongResult` (and the perturbed waveforms when ``keep_waveforms``). The L-infinity
    bound holds after every step: |delta| <= eps and x + delta in [-1, 1].
    """
    import torch  # heavy: only an attack needs it

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
    need = options.hub_size * k
    nk0 = [col.n_k(q, e0[b]) for b, q in enumerate(items)]
    state = {"status": ["hub" if n >= need else "no" for n in nk0], "nk": list(nk0), "steps": [0] * len(items),
             "trace": [[n] for n in nk0]}
    delta = _run_steps(x, embed, col, items, e0, options, state, progress)
    xn, dn = x.numpy(), delta.detach().numpy()
    seconds = (time.perf_counter() - t0) / len(items)
    results = []
    for b, q in enumerate(items):
        attacked = state["status"][b] != "hub"
        results.append(SongResult(
            item=q, status=state["status"][b], nk_before=nk0[b], nk_after=state["nk"][b],
            snr_db=snr_db(xn[b], dn[b]) if attacked else None, linf=float(np.abs(dn[b]).max()) if attacked else 0.0,
            steps=state["steps"][b], seconds=seconds, nk_trace=tuple(int(n) for n in state["trace"][b])))
    if keep_waveforms:
        return results, xn + dn
    return results


def _run_steps(x, embed, col: Collection, items: list[int], e0, options: HubAttackOptions, state: dict,
               progress: Progress | None):
    """The sign-Adam loop; ``state`` (per song: status, N_k, steps, trace) is updated at every check."""
    import torch  # heavy: only an attack needs it

    k, need, B = options.k, options.hub_size * options.k, len(items)
    targets, radii = _targets(col, items, e0, options.n_targets)
    T = torch.as_tensor(np.stack([col.X[t] for t in targets]))  # (B, n_targets, d)
    R = torch.as_tensor(np.stack(radii), dtype=torch.float32)
    scale = float(np.median(col.raw_d[:, k - 1]))
    adaptive = (_adaptive_terms(col, items, targets, k, options.temperature * scale)
                if options.adaptive and col.defence == "mp" else None)
    active = torch.tensor([st == "no" for st in state["status"]])
    delta = torch.zeros_like(x)
    opt = _SignAdam(x, options.lr, options.eps)
    for step in range(1, options.steps + 1):
        if not bool(active.any()):
            break
        delta.requires_grad_(True)
        hinge = _hinge(embed(x + delta), T, R, options, scale, adaptive)
        loss = (options.alpha * hinge + (delta**2).sum(dim=1))[active].sum()
        (g,) = torch.autograd.grad(loss, delta)
        delta = opt.step(delta, g, step, active)
        if step % options.check_every == 0 or step == options.steps:
            with torch.no_grad():
                e_now = embed(x + delta).numpy()
            for b, q in enumerate(items):
                if not bool(active[b]):
                    continue
                nk = col.n_k(q, e_now[b])
                state["nk"][b], state["steps"][b] = nk, step
                state["trace"][b].append(nk)
                if nk >= need:
                    state["status"][b] = "yes"
                    active[b] = False
            if progress:
                done = sum(st != "no" for st in state["status"])
                progress(step / options.steps, f"step {step} of {options.steps}: {done} of {B} songs are hubs")
    return delta


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


def pick_songs(emb, n_songs: int, *, random_state: int = 0) -> np.ndarray:
    """Songs to attack: audio items whose clip re-renders exactly (TimGM6mb soundfont), drawn with ``random_state``."""
    if emb.collection != "audio":
        raise InputError(f"The embedding '{emb.name}' is of score excerpts; the hub attack perturbs recordings, so "
                         "choose an audio model's embedding.")
    pool = np.flatnonzero(np.asarray(emb.meta["soundfont"]) == emb.meta["soundfont_names"].index("timgm6mb"))
    if n_songs < 1 or n_songs > pool.size:
        raise ParameterError(f"The number of songs must be between 1 and {pool.size}, got {n_songs}.")
    return np.sort(np.random.default_rng(random_state).choice(pool, size=n_songs, replace=False))


def shipped_jobs(directory: Path) -> tuple[list[dict], list[str], dict, dict]:
    """The shipped success-rate jobs (``hub_attack*.json``) as table rows, with their commands, last options and
    the paper's numbers: one row per job and defence, ours beside the paper's."""
    rows, commands, o, paper = [], [], {}, PAPER
    for path in sorted(Path(directory).glob("hub_attack*.json")):
        job = json.loads(path.read_text())
        o, paper = job["options"], job["paper"]
        commands.append(job.get("command", ""))
        for d, v in job["defences"].items():
            sm = v["summary"]
            snr = sm["snr_db_successful"]
            rows.append({"embedding": job["embedding"], "L∞ bound": o["eps"],
                         "defence": "none" if d == "none" else "Mutual Proximity (empirical)"
                         + (", adaptive attacker" if o.get("adaptive") else ""),
                         "success rate (ours)": sm["success_rate"], "songs attacked": sm["attacked"],
                         "SNR of successes, dB (ours)": "—" if snr is None else f"{snr['mean']:.1f} ± {snr['sd']:.1f}",
                         "paper (Hoedt et al. 2022)": paper["success_rate_undefended" if d == "none"
                                                            else "success_rate_with_mp"]})
    return rows, commands, o, paper


def outdated_jobs(directory: Path) -> list[str]:
    """The shipped jobs (file names) that were computed with other weights than the shipped model's now, or that
    do not record their weights (made before jobs recorded them), so the page can say their numbers are stale."""
    from models import registry

    out = []
    for path in sorted(Path(directory).glob("hub_attack*.json")):
        job = json.loads(path.read_text())
        if "weights_sha256" not in job or registry.outdated_models(job):
            out.append(path.name)
    return out


def run_job(emb, net, defences=DEFENCES, *, n_songs: int = 40, random_state: int = 0,
            options: HubAttackOptions = HubAttackOptions(), batch: int = 8, progress: Progress | None = None) -> dict:
    """The success-rate job: the same songs attacked against each defence; parameters and numbers as JSON."""
    t0 = time.perf_counter()
    for p in net.parameters():
        p.requires_grad_(False)
    items = pick_songs(emb, n_songs, random_state=random_state)
    waves = np.stack([embeddings.clip_waveform(emb, int(i))[0] for i in items])
    out = {"embedding": emb.name, "n": len(emb), "songs": items.tolist(), "seed": random_state,
           "options": options.to_dict(), "defences": {}, "paper": PAPER}
    for j, d in enumerate(defences):
        col = Collection(emb.vectors, k=options.k, defence=d, candidates=options.candidates, hub_size=options.hub_size)
        res = []
        for s in range(0, len(items), batch):
            res += attack(waves[s:s + batch], net, items=items[s:s + batch], collection=col, options=options)
            if progress:
                progress((j + len(res) / len(items)) / len(defences),
                         f"{d}: {len(res)} of {len(items)} songs, {time.perf_counter() - t0:.0f} s")
        out["defences"][d] = {"summary": summarise(res), "hubs_in_collection": int(col.hubs().size),
                              "songs": [asdict(r) for r in res]}
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


@dataclass(frozen=True, eq=False)
class SongAttack(Result):
    """One song of the collection attacked against each defence in turn: what the page shows and plays."""

    item: int
    options: HubAttackOptions
    exact_clip: bool  # the clip re-rendered with its own soundfont (else with TimGM6mb)
    original: np.ndarray  # (samples,) float32 waveform
    defences: tuple[str, ...]
    results: tuple[SongResult, ...]  # one per defence
    adversarial: np.ndarray  # (len(defences), samples) float32: the perturbed waveform against each defence

    def result(self, defence: str) -> SongResult:
        """The attack's outcome against ``defence``."""
        return self.results[self.defences.index(defence)]

    def waveform(self, defence: str) -> np.ndarray:
        """The perturbed waveform that attacked ``defence``."""
        return self.adversarial[self.defences.index(defence)]


def attack_song(emb, net, *, item: int, collections: Mapping[str, Collection],
                options: HubAttackOptions = HubAttackOptions(), progress: Progress | None = None) -> SongAttack:
    """Attack one audio item of an embedding space against each defence of ``collections`` (defence -> Collection).

    The item's clip is rendered again from its score (:func:`xai.recommender.embeddings.clip_waveform`); the
    network's weights are frozen (the attack needs gradients for the waveform only). ``progress`` hears each
    defence's steps as one share of the whole.
    """
    for p in net.parameters():
        p.requires_grad_(False)
    x, exact = embeddings.clip_waveform(emb, int(item))
    defences = tuple(collections)
    results, waves = [], []
    for i, d in enumerate(defences):
        prog = None if progress is None else (
            lambda f, m, i=i, d=d: progress((i + f) / len(defences), f"defence {d}: {m}"))
        res, adv = attack(x[None], net, items=[int(item)], collection=collections[d], options=options,
                          progress=prog, keep_waveforms=True)
        results.append(res[0])
        waves.append(np.asarray(adv[0], dtype=np.float32))
    return SongAttack(item=int(item), options=options, exact_clip=bool(exact), original=np.asarray(x, np.float32),
                      defences=defences, results=tuple(results), adversarial=np.stack(waves))
