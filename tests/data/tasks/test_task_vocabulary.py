from cognate.data.tasks import SPLITS, name_pool


def test_name_pools_are_large_and_disjoint():
    pools = {split: set(name_pool(split)) for split in SPLITS}
    assert len(pools["train"]) > 40_000
    assert min(len(pools["validation"]), len(pools["test"])) > 5_000
    assert not pools["train"] & pools["validation"]
    assert not pools["train"] & pools["test"]
    assert not pools["validation"] & pools["test"]
    assert all(name[0].isupper() and name[1:].islower() for name in pools["train"])
