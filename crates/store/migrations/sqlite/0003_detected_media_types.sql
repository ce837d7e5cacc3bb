-- Uploads used to keep the client's Content-Type until pre-processing replaced it with the
-- detected one, and kept it when detection failed. Only detected types are served now: forget
-- any other.
UPDATE tasks SET original_media_type = NULL
WHERE original_media_type NOT IN
    ('application/pdf', 'image/png', 'image/jpeg', 'image/tiff', 'image/gif', 'image/bmp', 'image/webp');
