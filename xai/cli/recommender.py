"""CLI for the recommender's hubness: ``hubness``, ``hub-attack`` and the ``embeddings`` build job.

    python -m xai hubness --embedding style_audio --k 10 --reduction mp --json
    python -m xai hub-attack --embedding style_audio --defence mp --n-songs 40 --json
    python -m xai hub-attack --embedding style_audio --defence all --n-songs 40 --out assets/hubness/hub_attack.json
    python -m xai embeddings --build
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from xai.errors import InputError, ParameterError
from xai.recommender import embeddings, hub_attack, hubness

ATTACK_RESULT = "hub_attack.json"


def _hubness(args) -> dict:
    if args.vectors:
        return _hubness_of_file(args)
    emb = embeddings.load(args.embedding)
    rep = hubness.analyse(emb.vectors, emb.labels, args.k, args.reduction, candidates=args.candidates,
                          hub_size=args.hub_size, approximate=True if args.approximate else None)
    d = rep.summary()
    d["embedding"] = emb.name
    d["hubs"] = [{**emb.describe(i), "k_occurrence": nk} for i, nk in rep.hubs(args.top)]
    return d


def _npy(path: str, what: str):
    import numpy as np

    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as e:
        raise InputError(f"The {what} file {path} is not a NumPy .npy array ({e}).") from None


def _hubness_of_file(args) -> dict:
    """A collection of your own (up to millions of items): vectors memory-mapped from a .npy file."""
    import numpy as np

    X = _npy(args.vectors, "vectors")
    if X.ndim != 2 or X.dtype != np.float32:
        X = np.asarray(X, dtype=np.float32)  # only float32 rows stay on disk; anything else is converted once
    labels = np.asarray(_npy(args.labels, "labels")) if args.labels else None
    if labels is not None and labels.shape[:1] != X.shape[:1]:
        raise InputError(f"The labels file has {labels.shape[0] if labels.ndim else 0} entries for {X.shape[0]} "
                         "vectors; give one label per vector.")
    rep = hubness.analyse(X, labels, args.k, args.reduction, candidates=args.candidates, hub_size=args.hub_size,
                          approximate=True if args.approximate else None,
                          progress=lambda f, m: print(f"{f:4.0%} {m}", file=sys.stderr))
    d = rep.summary()
    d["embedding"] = args.vectors
    d["hubs"] = [{"item": i, "class": None if labels is None else str(labels[i]), "piece": "", "k_occurrence": nk}
                 for i, nk in rep.hubs(args.top)]
    return d


def _show_hubness(r: dict) -> None:
    prec = "n/a" if r["retrieval_precision"] is None else f"{r['retrieval_precision']:.3f}"
    acc = "n/a" if r["knn_accuracy"] is None else f"{r['knn_accuracy']:.3f}"
    print(f"{r['embedding']}: n={r['n']} k={r['k']} reduction={r['reduction']} ({r['method']})")
    print(f"  skewness {r['skewness']:.2f}, hub occurrence {r['hub_occurrence']:.3f}, anti-hub occurrence "
          f"{r['antihub_occurrence']:.3f}, Robin Hood {r['robinhood']:.3f}, Gini {r['gini']:.3f}")
    print(f"  same-class precision@k {prec}, k-NN accuracy {acc}")
    if r["note"]:
        print(f"  note: {r['note']}")
    for h in r["hubs"]:
        extra = (f", {h['instrument']}" if "instrument" in h else f", bars {h.get('start_bar')}-{h.get('end_bar')}"
                 if "start_bar" in h else "")
        print(f"  hub item {h['item']}: N_k={h['k_occurrence']} ({h['class']}{extra}{', ' + h['piece'] if h['piece'] else ''})")


def _hub_attack(args) -> dict:
    from models import registry  # loading a network pulls in torch: only this command needs it

    defences = hub_attack.DEFENCES if args.defence == "all" else (args.defence,)
    emb = embeddings.load(args.embedding)
    if emb.collection != "audio":
        raise ParameterError(f"The embedding '{emb.name}' is of score excerpts; the hub attack perturbs recordings, "
                             f"so choose one of: {', '.join(n for n in embeddings.names() if n != emb.name)}.")
    opts = hub_attack.HubAttackOptions.from_args(args)
    model = registry.load(emb.name)
    res = hub_attack.run_job(emb, model.net, defences, n_songs=args.n_songs,
                             random_state=args.random_state, options=opts,
                             progress=lambda f, m: print(m, file=sys.stderr))
    res |= {"model": emb.name, "weights_sha256": model.weights_sha256}  # so a page can tell when weights change
    res["command"] = ("python -m xai hub-attack " + " ".join(
        [f"--embedding {args.embedding}", f"--defence {args.defence}", f"--n-songs {args.n_songs}",
         f"--seed {args.random_state}", f"--eps {opts.eps}", f"--steps {opts.steps}", f"--lr {opts.lr}",
         f"--hub-size {opts.hub_size}"] + (["--adaptive"] if opts.adaptive else [])))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(res, indent=1))
    out = {"embedding": res["embedding"], "n_songs": args.n_songs, "seconds": res["seconds"],
           "options": res["options"], "paper": res["paper"]}
    for d, v in res["defences"].items():
        out[d] = v["summary"]
    if args.defence != "all":
        out.update(res["defences"][args.defence]["summary"])
    return out


def _show_attack(r: dict) -> None:
    print(f"hub attack on {r['embedding']} ({r['n_songs']} songs, eps {r['options']['eps']}, "
          f"hub = N_{r['options']['k']} >= {r['options']['hub_size'] * r['options']['k']:g}; {r['seconds']:.0f} s)")
    for d in ("none", "mp"):
        if d not in r:
            continue
        s = r[d]
        snr = s["snr_db_successful"]
        rate = "n/a" if s["success_rate"] is None else f"{s['success_rate']:.0%}"
        print(f"  defence {d:4s}: success {rate} ({s['successes']} of {s['attacked']}; {s['already_hubs']} already "
              f"hubs)" + (f", SNR of successes {snr['mean']:.1f} +- {snr['sd']:.1f} dB" if snr else ""))
    p = r["paper"]
    print(f"  paper: success {p['success_rate_undefended']} undefended, {p['success_rate_with_mp']} with MP; "
          f"{p['snr']}")


def _embeddings(args) -> dict:
    if args.build:
        return embeddings.build(Path(args.out) if args.out else None, progress=lambda m: print(m, file=sys.stderr))
    if args.reembed:
        return embeddings.reembed(args.reembed, Path(args.out) if args.out else None,
                                  progress=lambda m: print(m, file=sys.stderr))
    return embeddings.parameters()


def _show_embeddings(r: dict) -> None:
    for e in r["embeddings"]:
        print(f"{e['name']}: {e['n']} {e['collection']} items, d={e['d']} ({e['layer']})")


def add_commands(sub) -> None:
    """Add the ``hubness``, ``hub-attack`` and ``embeddings`` commands to the CLI's subparsers."""

    p = sub.add_parser("hubness", help="hubness of the k-NN recommender in a shipped embedding, with a reduction")
    p.add_argument("--embedding", default="style_audio")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--reduction", default="none", choices=hubness.REDUCTIONS)
    p.add_argument("--candidates", type=int, default=hubness.DEFAULT_CANDIDATES,
                   help="candidate neighbours per item that a reduction re-ranks")
    p.add_argument("--hub-size", type=float, default=hubness.HUB_SIZE, help="hub: N_k >= hub-size * k")
    p.add_argument("--approximate", action="store_true", help="use the approximate index (faiss HNSW; an inverted-file "
                   "join from 100,000 items)")
    p.add_argument("--vectors", metavar="FILE.npy", default=None,
                   help="your own collection instead of a shipped embedding: an (n, d) float32 .npy file, read "
                   "memory-mapped (a million items d = 128 take about 0.5 GB on disk)")
    p.add_argument("--labels", metavar="FILE.npy", default=None, help="one class label per vector, for retrieval")
    p.add_argument("--top", type=int, default=5, help="how many of the biggest hubs to list")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_hubness, show=_show_hubness)

    p = sub.add_parser("hub-attack", help="perturb songs so they become hubs; success rate without / with MP")
    p.add_argument("--embedding", default="style_audio")
    p.add_argument("--defence", default="none", choices=("none", "mp", "all"))
    p.add_argument("--n-songs", type=int, default=40)
    p.add_argument("--random-state", "--seed", dest="random_state", type=int, default=0,
                   help="which songs are drawn (--seed is the older name)")
    hub_attack.HubAttackOptions.add_arguments(p)
    p.add_argument("--out", default=None, help="write the full result (every song, parameters) as JSON here")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_hub_attack, show=_show_attack)

    p = sub.add_parser("embeddings", help="the recommender's shipped embeddings (--build: recompute them)")
    p.add_argument("--build", action="store_true", help="embed the audio data set and score excerpts (needs caches)")
    p.add_argument("--reembed", default=None, metavar="MODEL",
                   help="embed the shipped audio collection again with MODEL's current weights (after retraining it)")
    p.add_argument("--out", default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_embeddings, show=_show_embeddings)
