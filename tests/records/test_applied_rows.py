"""One column-wise constructor for several applied blocks: the instrument server's rows and the
:class:`~qplane.records.Applied` bodies give the same record."""

from __future__ import annotations

import numpy as np

from qplane.records import Applied, AppliedBlocks, Record


def test_rows_and_bodies_give_the_same_record():
    bodies = [Applied(syndrome_seq=s, t_decoded=1.0 + s, t_applied=2.0 + s, decode_seconds=0.01 * s,
                      worker=f"decoder-{s % 2}", failures=s % 3, shadow_shots=s, shadow_disagreements=1,
                      t_sent=0.5 + s, t_received=0.7 + s) for s in range(4)]
    preds = [np.full((s + 1, 1), s, np.uint8) for s in range(4)]
    truth = [p ^ 1 for p in preds]
    by_body, by_body_arrays = AppliedBlocks.of(
        [(b, {"predictions": p, "truth": t}) for b, p, t in zip(bodies, preds, truth)])
    rows = [tuple(getattr(b, f) for f in Applied.__struct_fields__) for b in bodies]
    by_row, by_row_arrays = AppliedBlocks.of_rows(rows, {"predictions": preds, "truth": truth})
    assert by_body == by_row
    assert by_row.shots == [1, 2, 3, 4] and by_row.workers == [b.worker for b in bodies]
    for name in ("predictions", "truth"):
        np.testing.assert_array_equal(by_body_arrays[name], by_row_arrays[name])
    rec = Record.build(by_row, run_id="r", source="instrument_server", seq=0, arrays=by_row_arrays)
    back = by_row.applied(rec)  # and each block comes back as the Applied it was
    assert [r.body for r in back] == bodies
    np.testing.assert_array_equal(back[2].arrays["predictions"], preds[2])
