-- The SHA-256 of an upload's bytes, recorded when its last byte arrives and before the file
-- becomes a video, so an upload interrupted at completion can find the video it became.
ALTER TABLE uploads ADD COLUMN content_sha256 TEXT;
