// Keyboard-first review: Enter moves to the next field that needs attention and, past the
// last one, completes the review (which opens the next document); Ctrl+Enter completes at once.
"use strict";
const form = document.getElementById("review");
if (form) {
  form.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    if (!(event.ctrlKey || event.metaKey)) {
      const next = Array.from(form.querySelectorAll("input.attention")).find(
        (input) => event.target.compareDocumentPosition(input) & Node.DOCUMENT_POSITION_FOLLOWING
      );
      if (next) {
        next.focus();
        next.select();
        return;
      }
    }
    form.requestSubmit();
  });
}
