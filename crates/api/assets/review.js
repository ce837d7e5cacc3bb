// Keyboard-first review: Enter moves to the next field that needs attention and, past the
// last one, completes the review (which opens the next document); Ctrl+Enter completes at once.
// A click on a word of the page puts it in the field being edited (Shift+click adds it); a
// click on a field's box goes to its input; the edited field's box is outlined.
"use strict";
const form = document.getElementById("review");
if (form) {
  let current = form.querySelector("input[autofocus]") || form.querySelector("input");
  const boxes = (name) => document.querySelectorAll(`.box[data-field="${CSS.escape(name)}"]`);
  const select = (input) => {
    document.querySelectorAll(".box.current").forEach((b) => b.classList.remove("current"));
    current = input;
    boxes(input.name).forEach((b) => b.classList.add("current"));
  };
  form.addEventListener("focusin", (event) => {
    if (event.target.matches("input")) select(event.target);
  });
  if (current) select(current);
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
  document.querySelectorAll(".word").forEach((word) => {
    word.addEventListener("mousedown", (event) => event.preventDefault());
    word.addEventListener("click", (event) => {
      if (!current) return;
      const text = word.dataset.text;
      current.value = event.shiftKey && current.value ? `${current.value} ${text}` : text;
      current.focus();
    });
  });
  document.querySelectorAll(".box").forEach((box) => {
    box.addEventListener("click", () => {
      const input = form.querySelector(`input[name="${CSS.escape(box.dataset.field)}"]`);
      if (input) input.focus();
    });
  });
}
