"""Utterance planning on hand-made word timings: the rules, one at a time."""

import itertools

import numpy as np

from annotators.utterances import UtteranceParams, plan_utterances, silences, snap_to_silences
from schemas.records import Word

PARAMS = UtteranceParams(min_s=2.0, max_s=10.0, target_s=5.0, pause_s=0.45, padding_s=0.15)


def words(*spans):
    """words((0, 2.5, "a b c."), ...) -> evenly timed words over each span."""
    out = []
    for start, end, text in spans:
        tokens = text.split()
        step = (end - start) / len(tokens)
        out += [
            Word(
                text=t,
                start_s=start + i * step,
                end_s=start + (i + 1) * step - 0.02,
                probability=0.9,
            )
            for i, t in enumerate(tokens)
        ]
    return out


def test_a_long_pause_ends_an_utterance_and_clips_are_padded_inside_the_pause():
    plan, dropped = plan_utterances(
        words((1.0, 4.0, "one two three four."), (5.0, 8.0, "five six seven eight.")),
        [],
        10.0,
        PARAMS,
    )
    assert [(c.start_s, c.end_s) for c in plan] == [(0.85, 4.13), (4.85, 8.13)]
    assert not dropped


def test_a_shot_cut_splits_even_without_a_pause():
    plan, _ = plan_utterances(
        words((1.0, 4.0, "one two three four."), (4.1, 7.0, "five six seven eight.")),
        [4.05],
        8.0,
        PARAMS,
    )
    assert len(plan) == 2
    assert plan[0].end_s <= 4.05 <= plan[1].start_s


def test_a_long_run_is_split_at_a_sentence_end():
    run = words((0.0, 3.0, "first sentence is here."), (3.1, 7.0, "and the second one follows"))
    plan, _ = plan_utterances(run, [], 8.0, PARAMS)
    assert [c.words[-1].text for c in plan] == ["here.", "follows"]


def test_short_pieces_join_a_close_neighbour_or_are_dropped_with_a_reason():
    joined, _ = plan_utterances(words((0.0, 3.0, "a b c d."), (3.8, 4.8, "e f.")), [], 6.0, PARAMS)
    assert len(joined) == 1 and joined[0].words[-1].text == "f."
    plan, dropped = plan_utterances(
        words((0.0, 3.0, "a b c d."), (6.0, 6.8, "oh.")), [], 8.0, PARAMS
    )
    assert len(plan) == 1
    assert [d.text for d in dropped] == ["oh."] and "shorter than 2 s" in dropped[0].reason


def test_every_planned_clip_respects_the_bounds():
    rng = np.random.default_rng(3)
    spans, t = [], 0.5
    for _ in range(30):
        length = float(rng.uniform(0.5, 14))
        spans.append((t, t + length, " ".join(["w"] * max(1, int(length * 3))) + "."))
        t += length + float(rng.choice([0.1, 0.3, 0.8, 2.0]))
    plan, _ = plan_utterances(words(*spans), [], t + 1, PARAMS)
    assert plan
    for clip in plan:
        assert PARAMS.min_s <= clip.end_s - clip.start_s <= PARAMS.max_s + 2 * PARAMS.padding_s
    for a, b in itertools.pairwise(plan):
        assert a.end_s <= b.start_s


def test_silences_are_relative_to_the_speech_level():
    frames = np.full(200, -20.0)  # 4 s of speech at 20 ms frames
    frames[50:80] = -65.0  # 0.6 s pause
    frames[120:130] = -65.0  # 0.2 s: too short to count
    assert silences(frames, 0.02, 0.45, 30.0) == [(1.0, 1.6)]


def test_word_edges_move_to_an_adjacent_pause():
    late = [
        Word(text="I", start_s=2.9, end_s=3.2, probability=0.9),
        Word(text="miss", start_s=3.2, end_s=3.5, probability=0.9),
    ]
    snapped = snap_to_silences(late, [(1.0, 2.6)])
    assert snapped[0].start_s == 2.6  # the soft onset whisper placed late
    assert snapped[1].start_s == 3.2  # not next to the pause: unchanged


def test_word_edges_drifting_into_a_pause_are_pulled_back():
    drifted = [
        Word(text="it.", start_s=0.5, end_s=1.9, probability=0.9),
        Word(text="Then", start_s=2.1, end_s=3.0, probability=0.9),
    ]
    snapped = snap_to_silences(drifted, [(1.2, 2.6)])
    assert (snapped[0].start_s, snapped[0].end_s) == (0.5, 1.2)
    assert (snapped[1].start_s, snapped[1].end_s) == (2.6, 3.0)


def test_a_speaker_change_ends_an_utterance_and_turns_are_never_joined():
    first = [w.model_copy(update={"speaker": "A"}) for w in words((0.0, 3.0, "are you there?"))]
    second = [w.model_copy(update={"speaker": "B"}) for w in words((3.1, 4.0, "yes."))]
    plan, dropped = plan_utterances(first + second, [], 5.0, PARAMS)
    assert [c.words[0].speaker for c in plan] == ["A"]
    assert [d.text for d in dropped] == ["yes."]  # too short, and not joined across speakers
