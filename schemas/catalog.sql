-- The catalog: the single source of truth for metadata. Media live beside it in the workspace.
-- Every row carries provenance: stage, annotator_version, run_id, created_at.

CREATE TABLE IF NOT EXISTS runs (
    run_id       VARCHAR PRIMARY KEY,
    flow         VARCHAR NOT NULL,
    profile      VARCHAR NOT NULL,
    inputs       VARCHAR,
    started_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ,
    status       VARCHAR NOT NULL,   -- running | completed | failed
    summary      JSON
);

-- The ledger: one row per (stage, item, annotator version). "Pending" means no row here, so a
-- re-run does only new work and a changed annotator version re-runs only its stage.
CREATE TABLE IF NOT EXISTS stage_log (
    stage              VARCHAR NOT NULL,
    item_id            VARCHAR NOT NULL,
    annotator_version  VARCHAR NOT NULL,
    status             VARCHAR NOT NULL,  -- ok | failed
    output_id          VARCHAR,           -- e.g. the video_id an ingested file became
    reason_code        VARCHAR,
    reason             VARCHAR,
    run_id             VARCHAR NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (stage, item_id, annotator_version)
);

CREATE TABLE IF NOT EXISTS videos (
    video_id           VARCHAR PRIMARY KEY,  -- from the content hash: identical files collapse
    sha256             VARCHAR NOT NULL,
    size_bytes         BIGINT NOT NULL,
    source_path        VARCHAR NOT NULL,     -- the first path this content was seen at
    container          VARCHAR NOT NULL,
    duration_s         DOUBLE NOT NULL,
    width              INTEGER NOT NULL,
    height             INTEGER NOT NULL,
    fps                DOUBLE NOT NULL,
    rotation           INTEGER NOT NULL,
    video_codec        VARCHAR NOT NULL,
    audio_codec        VARCHAR NOT NULL,
    audio_streams      INTEGER NOT NULL,
    audio_sample_rate  INTEGER NOT NULL,
    audio_channels     INTEGER NOT NULL,
    stage              VARCHAR NOT NULL,
    annotator_version  VARCHAR NOT NULL,
    run_id             VARCHAR NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS transcripts (
    video_id           VARCHAR PRIMARY KEY,
    language           VARCHAR NOT NULL,
    word_timing        VARCHAR NOT NULL,   -- alignment | whisper
    model              VARCHAR NOT NULL,
    segments           JSON NOT NULL,      -- [SpeechSegment], words inside
    stage              VARCHAR NOT NULL,
    annotator_version  VARCHAR NOT NULL,
    run_id             VARCHAR NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS segmentations (
    video_id           VARCHAR PRIMARY KEY,
    transcript_version VARCHAR NOT NULL,  -- the ASR version the clips were cut from
    scene_cuts_s       JSON NOT NULL,
    subtitles          VARCHAR,           -- which sidecar was used, or why it was not
    dropped            JSON NOT NULL,     -- [DroppedSpan]: speech left out, with the reason
    stage              VARCHAR NOT NULL,
    annotator_version  VARCHAR NOT NULL,
    run_id             VARCHAR NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS clips (
    clip_id            VARCHAR PRIMARY KEY,  -- <video_id>-<start ms>-<end ms>
    video_id           VARCHAR NOT NULL,
    start_ms           INTEGER NOT NULL,
    end_ms             INTEGER NOT NULL,
    duration_s         DOUBLE NOT NULL,
    text               VARCHAR NOT NULL,
    text_source        VARCHAR NOT NULL,     -- asr | subtitles
    subtitle_wer       DOUBLE,               -- ASR against the sidecar; NULL: no sidecar
    words              JSON NOT NULL,
    word_timing        VARCHAR NOT NULL,
    avg_logprob        DOUBLE NOT NULL,
    no_speech_prob     DOUBLE NOT NULL,
    compression_ratio  DOUBLE NOT NULL,
    speech_rms_db      DOUBLE NOT NULL,
    hallucination      VARCHAR,              -- why the text may not be speech; NULL: fine
    video_path         VARCHAR NOT NULL,     -- relative to the workspace
    audio_path         VARCHAR NOT NULL,
    stage              VARCHAR NOT NULL,
    annotator_version  VARCHAR NOT NULL,
    run_id             VARCHAR NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL
);
