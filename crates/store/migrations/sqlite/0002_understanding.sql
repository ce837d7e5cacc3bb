-- OCR languages per workspace (Tesseract codes joined by '+'), and what document
-- understanding found, stored beside the recognised pages.
ALTER TABLE workspaces ADD COLUMN languages TEXT NOT NULL DEFAULT 'por+eng';
ALTER TABLE task_results ADD COLUMN understanding_json TEXT NOT NULL DEFAULT '{}';
