"""Learnability check of the generator's story (docs/generator.md): end-of-day snapshots per customer-day,
the H-day forecast label, the baselines against gradient boosting and a logistic regression on customers
split at random, PR-AUC and a customer-bootstrap interval of the delta against the strongest baseline.

    npx nx run ingest:generate -- --rows 1000000 --seed 7 --out /tmp/gen.csv
    OMP_NUM_THREADS=1 python3 bench/generator-story.py /tmp/gen.csv --boot 500 --ablate

Needs numpy and scikit-learn (Debian: apt-get install python3-sklearn). Its snapshot features are its own
numpy reading of issue 15's contract, not the feature kernel: a check of the data, not of the pipeline."""
import sys, time, argparse
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.pipeline import make_pipeline
from sklearn.metrics import average_precision_score

ap = argparse.ArgumentParser()
ap.add_argument('csv'); ap.add_argument('--horizon', type=int, default=7); ap.add_argument('--boot', type=int, default=300)
ap.add_argument('--seed', type=int, default=1); ap.add_argument('--ablate', action='store_true'); ap.add_argument('--test-share', type=float, default=0.3)
args = ap.parse_args()
H = args.horizon
ESS = {'SERVI\x82O', 'SERVIÇO', 'SUPERMERCADOS', 'FARMACIAS', 'HOSP E CLINICA', 'TRANS FINANC'}
t0 = time.time()
keys = {}; cust = []; day = []; lim = []; avail = []; amt = []; ness = []
import datetime
epoch = datetime.date(1970, 1, 1)
dcache = {}
with open(args.csv, encoding='latin1') as f:
    next(f)
    seen = set()
    for line in f:
        line = line.rstrip('\r\n')
        if not line or line in seen: continue  # exact duplicates dropped, as ingest does
        seen.add(line)
        r = line.split(';')
        k = tuple(x.strip() for x in r[:6])
        cust.append(keys.setdefault(k, len(keys)))
        d = r[8]
        if d not in dcache:
            dd, mm, yy = d.split('.'); dcache[d] = (datetime.date(int(yy), int(mm), int(dd)) - epoch).days
        day.append(dcache[d])
        lim.append(float(r[6])); avail.append(float(r[7]))
        a = r[9].strip()
        amt.append(np.nan if a in ('-', '') else float(a.replace('.', '').replace(',', '.')))
        ness.append(r[10].strip() not in ESS)
cust = np.array(cust); day = np.array(day); lim = np.array(lim); avail = np.array(avail); amt = np.array(amt); ness = np.array(ness)
ratio = np.where(lim > 0, avail / np.where(lim > 0, lim, 1), np.nan)
flag = (ratio < 0.2) & ness
print(f'rows {len(cust)} customers {len(keys)} flagged rows {flag.mean():.3f} parse {time.time()-t0:.1f}s', flush=True)

C = len(keys); d0 = day.min(); D = day.max() - d0 + 1; di = day - d0
def grid(vals, fn='sum', fill=0.0):
    g = np.full((C, D), fill)
    if fn == 'sum': np.add.at(g, (cust, di), vals)
    elif fn == 'min': np.minimum.at(g, (cust, di), vals)
    return g
cnt = grid(np.ones(len(cust)))
fl = grid(flag.astype(float))
sm = grid(np.nan_to_num(amt))
rs = grid(np.nan_to_num(ratio))
rmin = grid(np.nan_to_num(ratio, nan=np.inf), 'min', np.inf)
ne = grid(ness.astype(float))
def back(g, w):  # sum over D-w+1..D
    c = np.cumsum(g, axis=1); out = c.copy(); out[:, w:] -= c[:, :-w]; return out
def fwd(g, h):  # sum over D+1..D+h
    c = np.concatenate([np.zeros((C, 1)), np.cumsum(g, axis=1)], axis=1)
    idx = np.arange(D); hi = np.minimum(idx + h, D - 1)
    return c[:, hi + 1] - c[:, idx + 1]
def backmin(g, w):
    out = g.copy()
    for s in range(1, w): out[:, s:] = np.minimum(out[:, s:], g[:, :-s])
    return out
act = (cnt > 0).astype(float)
F = {}
F['day_min_available_ratio'] = rmin
F['min_available_ratio_7d'] = backmin(rmin, 7)
c30 = back(cnt, 30)
F['mean_available_ratio_30d'] = back(rs, 30) / np.maximum(c30, 1)
F['available_ratio_trend_30d'] = rmin - F['mean_available_ratio_30d']
F['day_count'] = cnt; F['day_sum'] = sm
F['revenge_count_today'] = fl; F['revenge_count_7d'] = back(fl, 7); F['revenge_count_30d'] = back(fl, 30)
F['hist_count_7d'] = back(cnt, 7); F['hist_sum_7d'] = back(sm, 7); F['hist_count_30d'] = c30; F['hist_sum_30d'] = back(sm, 30)
F['hist_nonessential_share_30d'] = back(ne, 30) / np.maximum(c30, 1)
F['active_days_30d'] = back(act, 30)
# days since the latest flagged day / previous active day
idx = np.broadcast_to(np.arange(D), (C, D))
lastflag = np.maximum.accumulate(np.where(fl > 0, idx, -10**6), axis=1)
F['days_since_revenge'] = np.where(lastflag >= 0, idx - lastflag, np.nan)
prevact = np.maximum.accumulate(np.where(act > 0, idx, -10**6), axis=1)
prev = np.concatenate([np.full((C, 1), -10**6), prevact[:, :-1]], axis=1)
F['days_since_prev'] = np.where(prev >= 0, idx - prev, np.nan)
dates = [epoch + datetime.timedelta(days=int(d0 + i)) for i in range(D)]
F['day_of_month'] = np.broadcast_to(np.array([d.day for d in dates], float), (C, D))
F['day_of_week'] = np.broadcast_to(np.array([d.weekday() for d in dates], float), (C, D))
# credit limit of the day (the lowest, when it changed that day)
F['credit_limit'] = grid(lim, 'min', np.inf)
label = fwd(fl, H) > 0
snap = (cnt > 0) & (np.arange(D)[None, :] + H <= D - 1)
cs, ds = np.nonzero(snap)
names = list(F)
X = np.column_stack([F[n][cs, ds] for n in names]); X[~np.isfinite(X)] = np.nan
y = label[cs, ds].astype(int)
print(f'snapshots {len(y)} (censored {int(((cnt>0)&~snap).sum())}) prevalence {y.mean():.3f} positive customers {len(np.unique(cs[y==1]))}/{len(np.unique(cs))} features {time.time()-t0:.1f}s', flush=True)

rng = np.random.default_rng(args.seed)
custs = np.unique(cs); rng.shuffle(custs)
test_c = set(custs[: int(len(custs) * args.test_share)].tolist())
te = np.array([c in test_c for c in cs]); tr = ~te
col = {n: i for i, n in enumerate(names)}
scores = {}
r = X[te, col['day_min_available_ratio']]
scores['prior'] = np.full(te.sum(), y[tr].mean())
scores['ratio_rule'] = (r < 0.2).astype(float)
scores['ratio_graded'] = 1 - r
scores['persistence'] = (X[te, col['revenge_count_7d']] > 0).astype(float)
gbm = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.08, max_leaf_nodes=31, min_samples_leaf=100, l2_regularization=1.0, random_state=0)
t1=time.time(); gbm.fit(X[tr], y[tr]); print(f'gbm fit {time.time()-t1:.1f}s', flush=True); scores['gbm'] = gbm.predict_proba(X[te])[:, 1]
Xl = np.nan_to_num(X, nan=-1.0)
lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, C=1.0))
lr.fit(Xl[tr], y[tr]); scores['logistic'] = lr.predict_proba(Xl[te])[:, 1]
yt = y[te]; ct = cs[te]
res = {k: average_precision_score(yt, s) for k, s in scores.items()}
print(f'test: {len(yt)} snapshots, {len(np.unique(ct))} customers, {len(np.unique(ct[yt==1]))} with positives, prevalence {yt.mean():.3f}')
for k, v in res.items(): print(f'  {k:14s} PR-AUC {v:.4f}')
base = max(['ratio_rule', 'ratio_graded', 'persistence'], key=lambda k: res[k])
# customer bootstrap of the delta: customer multiplicities as row weights, AP from one sort per score
uc, inv = np.unique(ct, return_inverse=True)
def wap_prep(s):
    o = np.argsort(-s, kind='stable'); ss = s[o]
    last = np.r_[ss[1:] != ss[:-1], True]  # last row of each tie group
    return o, last
def wap(prep, w):
    o, last = prep
    wy = (w * yt)[o]; tp = np.cumsum(wy)[last]; tot = np.cumsum(w[o])[last]
    rec = tp / tp[-1]; prec = tp / np.maximum(tot, 1e-12)
    return float(np.sum(np.diff(np.r_[0.0, rec]) * prec))
preps = {k: wap_prep(v) for k, v in scores.items()}
boots = [np.bincount(rng.integers(0, len(uc), len(uc)), minlength=len(uc))[inv].astype(float) for _ in range(args.boot)]
for model in ('gbm', 'logistic'):
    deltas = np.array([wap(preps[model], w) - wap(preps[base], w) for w in boots])
    lo, hi = np.percentile(deltas, [2.5, 97.5])
    print(f'  delta {model} - {base}: {res[model]-res[base]:+.4f}  95% customer-bootstrap [{lo:+.4f}, {hi:+.4f}] ({len(deltas)} resamples)')
if args.ablate:
    ladder = [
        ('day_min_available_ratio only', ['day_min_available_ratio']),
        ('+ calendar (day_of_month, day_of_week)', ['day_of_month', 'day_of_week']),
        ('+ ratio windows (min 7d, mean 30d, trend)', ['min_available_ratio_7d', 'mean_available_ratio_30d', 'available_ratio_trend_30d']),
        ('+ activity (counts, sums, active days, days since prev)', ['day_count', 'day_sum', 'hist_count_7d', 'hist_sum_7d', 'hist_count_30d', 'hist_sum_30d', 'active_days_30d', 'days_since_prev', 'hist_nonessential_share_30d']),
        ('+ revenge history, credit limit (all)', [n for n in names]),
    ]
    used = []
    for label_, add in ladder:
        used += [n for n in add if n not in used]
        keep = [col[n] for n in used]
        m = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.08, max_leaf_nodes=31, min_samples_leaf=100, l2_regularization=1.0, random_state=0)
        m.fit(X[tr][:, keep], y[tr])
        print(f'  gbm {label_}: PR-AUC {average_precision_score(yt, m.predict_proba(X[te][:, keep])[:, 1]):.4f}', flush=True)
print(f'total {time.time()-t0:.1f}s')
