"""A synthetic crowd with known truth, for measuring consensus methods where real truth is unknown.

Each source has 0, 1 or 2 true hosts and a few distractor galaxies nearby. Annotators are careful, sloppy
or random; careful and sloppy ones mark both hosts of a two-host source *together* in one classification.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .consensus import Annotations, ExpertAnswers
from .coords import tangent_to_sky

# annotator kind → (share of the crowd, click scatter in arcsec, chance to pick the right galaxy,
#                   chance to say "no host" where there is a host)
KINDS = {
    "careful": (0.5, 1.0, 0.92, 0.03),
    "sloppy": (0.35, 2.5, 0.65, 0.15),
    "random": (0.15, 0.0, 0.0, 0.3),
}


@dataclass(frozen=True)
class Truth:
    """The true hosts: ``host_source`` (index) with ``host_ra``, ``host_dec`` (ICRS degrees); sources with
    no entry have no visible host."""

    host_source: np.ndarray
    host_ra: np.ndarray
    host_dec: np.ndarray

    def expert_answers(self, sources: np.ndarray) -> ExpertAnswers:
        """The truth on ``sources``, as an expert's gold-standard answers."""
        sources = np.unique(sources)
        hosts = np.flatnonzero(np.isin(self.host_source, sources))
        return ExpertAnswers(sources, np.full(len(sources), "expert"), np.full(len(sources), ""),
                             np.searchsorted(sources, self.host_source[hosts]), self.host_ra[hosts],
                             self.host_dec[hosts])


def synthetic_crowd(n_sources: int = 500, *, annotators: int = 60, per_source: int = 10,
                    no_host_share: float = 0.15, two_host_share: float = 0.15, field_arcsec: float = 90.0,
                    seed: int = 0) -> tuple[Annotations, Truth, np.ndarray]:
    """Simulate a crowd cross-identifying ``n_sources`` sources.

    Returns
    -------
    annotations : Annotations
        Their classifications (``cls_user`` set).
    truth : Truth
        The true hosts.
    kind : numpy.ndarray
        ``(annotators,)`` kind of each annotator ("careful", "sloppy", "random").
    """
    rng = np.random.default_rng(seed)
    src_ra = rng.uniform(0, 360, n_sources)
    src_dec = np.degrees(np.arcsin(rng.uniform(-0.95, 0.95, n_sources)))
    n_true = rng.choice([0, 1, 2], size=n_sources,
                        p=[no_host_share, 1 - no_host_share - two_host_share, two_host_share])
    names = list(KINDS)
    kind = rng.choice(names, size=annotators, p=[KINDS[k][0] for k in names])

    true_src, true_xy, cls_source, cls_user, click_cls, clicks = [], [], [], [], [], []
    half = field_arcsec / 2
    for s in range(n_sources):
        hosts = rng.uniform(-0.3 * half, 0.3 * half, (n_true[s], 2))
        if n_true[s] == 2:  # two radio sources in one field sit apart
            hosts[1] = hosts[0] + rng.choice([-1, 1], 2) * rng.uniform(12, 25, 2)
        distractors = (hosts[0] if n_true[s] else np.zeros(2)) + rng.uniform(-12, 12, (3, 2))
        true_src += [s] * n_true[s]
        true_xy += list(hosts)
        for user in rng.choice(annotators, size=per_source, replace=False):
            _, scatter, p_right, p_no_host = KINDS[kind[user]]
            cls = len(cls_source)
            cls_source.append(s)
            cls_user.append(user)
            if kind[user] == "random":
                if rng.random() >= p_no_host:
                    click_cls.append(cls)
                    clicks.append(rng.uniform(-half, half, 2))
                continue
            if n_true[s] == 0:
                if rng.random() < 0.8:
                    continue  # rightly says no host
                click_cls.append(cls)
                clicks.append(distractors[rng.integers(3)] + rng.normal(0, scatter, 2))
                continue
            if rng.random() < p_no_host:
                continue
            for host in hosts:
                target = host if rng.random() < p_right else distractors[rng.integers(3)]
                click_cls.append(cls)
                clicks.append(target + rng.normal(0, scatter, 2))
    clicks = np.asarray(clicks, float).reshape(-1, 2)
    click_cls = np.asarray(click_cls, int)
    csrc = np.asarray(cls_source, int)[click_cls]
    ra, dec = tangent_to_sky(clicks[:, 0], clicks[:, 1], src_ra[csrc], src_dec[csrc])
    true_src = np.asarray(true_src, int)
    true_xy = np.asarray(true_xy, float).reshape(-1, 2)
    t_ra, t_dec = tangent_to_sky(true_xy[:, 0], true_xy[:, 1], src_ra[true_src], src_dec[true_src])
    annotations = Annotations(src_ra, src_dec, np.asarray(cls_source, int), click_cls, ra, dec,
                              cls_user=np.asarray(cls_user, int))
    return annotations, Truth(true_src, t_ra, t_dec), kind
