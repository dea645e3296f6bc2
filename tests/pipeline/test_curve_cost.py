"""``measure_curve_cost`` (the CURVE-vs-plain measurement ``qplane bench resilience`` includes)
returns its dict; the transport measurement alone is quick enough for a test (no timing is
asserted: the numbers depend on the machine)."""

from qplane.bench.curve_cost import TARGET_PERCENT, measure_curve_cost


def test_transport_measurement_returns_plain_and_curve_per_block_size():
    got = measure_curve_cost(block_sizes=(64, 1024), pipeline=False, transport_seconds=0.05)
    assert got["pipeline"] == {} and got["target_percent"] == TARGET_PERCENT
    for shots in ("64", "1024"):
        row = got["transport"][shots]
        assert row["plain_records_per_s"] > 0 and row["curve_records_per_s"] > 0
        assert isinstance(row["cost_percent"], float)
        # CPU time per record too (both ends and ZeroMQ's IO threads): what load cannot distort
        assert row["plain_cpu_us_per_record"] > 0 and row["curve_cpu_us_per_record"] > 0
        assert isinstance(row["cpu_cost_percent"], float)
    assert isinstance(got["met"], bool) and len(got["load_average"]["before"]) == 3
