#!/usr/bin/env python3
"""bounce-agreement.py - where bounce-proc and a labelled corpus disagree, by kind.

DESCRIPTION
    A maintainer's aid next to score-bounces (which gives the raw figures):
    runs bounce-proc once per message of a corpus labelled the way
    shared/corpus/bounces/labels.json is (Sisimai's verdicts per recipient),
    and sorts every category disagreement into the kinds docs/bounce-proc.md
    explains ("Where we disagree with Sisimai, and why"):

      newer-vocabulary  we name a reason Sisimai 4.25 had no word for
                        (authfailure, requireptr, ratelimited, badreputation,
                        notcompliantrfc; Sisimai 5 has them);
      no-such-user      the answer says the address does not exist and we
                        call it userunknown where Sisimai says filtered;
      other             everything else: the classifier's real misses.

    Prints the raw category and class agreement, the count of each kind, and
    the agreement on the recipients outside the two deliberate kinds.  With
    --list, every disagreement with its kind, our `why` and the answer.

    The kinds are decided by the pair of verdicts only, never by file names.

USAGE
    scripts/bounce-agreement.py [--cmd CMD] [--list] CORPUS_DIR

OWNERSHIP
    Reads the corpus, writes nothing.
"""
import argparse
import collections
import json
import os
import shlex
import subprocess
import sys

NEWER = {'authfailure', 'requireptr', 'ratelimited', 'badreputation', 'notcompliantrfc'}
# Sisimai 5 renamed these; score-bounces counts the old and new names as one
SAME = {'exceedlimit': 'emailtoolarge', 'mesgtoobig': 'emailtoolarge', 'toomanyconn': 'ratelimited',
        'speeding': 'ratelimited'}


def same(a, b):
    return SAME.get(a, a) == SAME.get(b, b)


def kind_of(theirs, ours):
    if ours in NEWER and SAME.get(theirs, theirs) not in NEWER:
        return 'newer-vocabulary'
    if ours == 'userunknown' and theirs == 'filtered':
        return 'no-such-user'
    return 'other'


def verdicts(cmd, path):
    with open(path, 'rb') as f:
        p = subprocess.run(cmd, stdin=f, capture_output=True, timeout=30)
    got = {}
    for line in p.stdout.decode('utf-8', 'replace').split('\n'):
        if not line.strip():
            continue
        r = json.loads(line)
        if r.get('type') == 'bounce' and r.get('recipient'):
            got.setdefault(r['recipient'].strip('<>').lower(), r)
    return got


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('corpus')
    ap.add_argument('--cmd', default='bin/bounce-proc --dry-run --json')
    ap.add_argument('--list', action='store_true')
    a = ap.parse_args()
    try:
        files = json.load(open(os.path.join(a.corpus, 'labels.json')))['files']
    except (OSError, ValueError, KeyError) as e:
        sys.exit('bounce-agreement: cannot read labels: %s' % e)
    cmd = shlex.split(a.cmd)
    n = collections.Counter()
    kinds = collections.Counter()
    rows = []
    for rec in files:
        if rec['expect'] != 'bounce':
            continue
        got = verdicts(cmd, os.path.join(a.corpus, rec['file']))
        want = {}
        for l in rec['labels']:  # one verdict per recipient, the first, as score-bounces counts
            want.setdefault(l['recipient'].lower(), l)
        for rcpt, l in want.items():
            g = got.get(rcpt)
            if g is None:
                continue
            theirs, ours = l['reason'], g.get('category') or ''
            n['matched'] += 1
            cls_counted = l['class'] in ('hard', 'soft')
            cls_ok = cls_counted and l['class'] == g.get('class')
            n['class_n'] += cls_counted
            n['class_ok'] += cls_ok
            if same(theirs, ours):
                n['category_ok'] += 1
                n['outside_n'] += 1
                n['outside_ok'] += 1
                n['outside_class_n'] += cls_counted
                n['outside_class_ok'] += cls_ok
                continue
            k = kind_of(theirs, ours)
            kinds[k] += 1
            if k == 'other':
                n['outside_n'] += 1
                n['outside_class_n'] += cls_counted
                n['outside_class_ok'] += cls_ok
            rows.append((k, theirs, ours, rec['file'], (g.get('why') or '')[:70],
                         ' '.join((g.get('diagnostic') or '').split())[:120]))
    if n['matched'] == 0:
        sys.exit('bounce-agreement: no recipient matched')

    def ratio(ok, total):
        return '%.3f (%d/%d)' % (ok / total, ok, total) if total else 'n/a'

    print('matched recipients      %d' % n['matched'])
    print('category agreement      %s' % ratio(n['category_ok'], n['matched']))
    print('class agreement         %s' % ratio(n['class_ok'], n['class_n']))
    for k in ('newer-vocabulary', 'no-such-user', 'other'):
        print('  disagreements %-17s %d' % (k, kinds[k]))
    print('outside the deliberate kinds:')
    print('  category agreement    %s' % ratio(n['outside_ok'], n['outside_n']))
    print('  class agreement       %s' % ratio(n['outside_class_ok'], n['outside_class_n']))
    if a.list:
        for r in sorted(rows):
            print(' | '.join(r))


if __name__ == '__main__':
    main()
