"""Where the detector looks: windows around boxes of interest at model resolution."""

from __future__ import annotations

from vms.detection.regions import Window, cover, plan_windows, shrink, whole

MODEL = (320, 320)  # height, width


def test_a_frame_that_fits_the_model_is_used_whole() -> None:
    assert shrink((480, 270), MODEL) == 1.5
    got = plan_windows([(10, 10, 40, 90)], (480, 270), MODEL, full_below=1.5, max_windows=4)
    assert got == [whole((480, 270))]
    assert cover((320, 240), MODEL, full_below=1.5, max_windows=4) == [Window(0, 0, 320, 240)]


def test_a_small_moving_person_gets_one_window_at_model_size_around_them() -> None:
    person = (700.0, 300.0, 740.0, 400.0)
    (win,) = plan_windows([person], (1280, 720), MODEL, full_below=1.5, max_windows=4)
    assert (win.width, win.height) == (320, 320)  # native resolution: nothing shrunk
    assert win.contains(person)
    assert abs((win.x1 + win.x2) / 2 - 720) <= 1
    assert abs((win.y1 + win.y2) / 2 - 350) <= 1


def test_windows_stay_inside_the_frame_and_nearby_boxes_share_one() -> None:
    corner = (1250.0, 690.0, 1280.0, 720.0)
    near = (1180.0, 600.0, 1200.0, 650.0)
    (win,) = plan_windows([corner, near], (1280, 720), MODEL, full_below=1.5, max_windows=4)
    assert win == Window(960, 400, 1280, 720)


def test_a_big_box_gets_a_bigger_window_shrunk_into_the_model() -> None:
    big = (100.0, 100.0, 600.0, 700.0)
    (win,) = plan_windows([big], (1920, 1080), MODEL, full_below=1.5, max_windows=4, margin=0)
    assert win.contains(big)
    assert win.width == win.height == 600


def test_too_much_motion_makes_windows_coarser_up_to_the_whole_frame() -> None:
    spread = [(x, y, x + 20.0, y + 40.0) for x in range(0, 1280, 200) for y in range(0, 720, 200)]
    coarse = plan_windows(spread, (1280, 720), MODEL, full_below=1.5, max_windows=4)
    assert 1 <= len(coarse) <= 4
    assert all(any(w.contains(b) for w in coarse) for b in spread)
    assert plan_windows(spread, (1280, 720), MODEL, full_below=1.5, max_windows=1) == [
        whole((1280, 720))
    ]


def test_cover_tiles_the_whole_frame_with_few_windows() -> None:
    tiles = cover((1280, 720), MODEL, full_below=1.5, max_windows=4)
    assert len(tiles) <= 4
    # Every pixel is in some tile.
    for x in range(0, 1280, 40):
        for y in range(0, 720, 40):
            assert any(t.x1 <= x < t.x2 and t.y1 <= y < t.y2 for t in tiles), (x, y)
    assert max(t.width for t in tiles) < 1280  # finer than the whole frame


def test_no_boxes_no_windows() -> None:
    assert plan_windows([], (1280, 720), MODEL, full_below=1.5, max_windows=4) == []
