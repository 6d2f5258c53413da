from mercap.sources import resolve_inputs, split_specs

EXTS = (".mp4", ".mkv")


def test_folder_glob_and_list_file(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    for name in ("d/a.mp4", "d/sub/b.MKV", "d/readme.txt", "c.mp4"):
        (tmp_path / name).write_bytes(b"x")
    listing = tmp_path / "inputs.txt"
    listing.write_text("# my videos\nc.mp4\nmissing.mp4\n\n")
    found = resolve_inputs([str(tmp_path / "d"), str(listing), str(tmp_path / "*.mp4")], EXTS)
    names = [f.path.name for f in found.files]
    assert names == ["a.mp4", "b.MKV", "c.mp4"]  # c.mp4 listed and globbed: once
    assert found.missing == [str(tmp_path / "missing.mp4")]
    assert found.ignored == 1


def test_a_changed_file_gets_a_new_item_id(tmp_path):
    path = tmp_path / "a.mp4"
    path.write_bytes(b"one")
    before = resolve_inputs([str(path)], EXTS).files[0].item_id
    path.write_bytes(b"two, longer")
    assert resolve_inputs([str(path)], EXTS).files[0].item_id != before


def test_split_specs():
    assert split_specs(" a, b ,,c") == ["a", "b", "c"]
    assert split_specs(["a", "b"]) == ["a", "b"]
