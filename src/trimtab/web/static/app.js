// trimtab — small comforts over pages that work without JavaScript.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // "Select all" check boxes: data-select-all="NAME" toggles every box named NAME.
  for (const box of document.querySelectorAll("input[data-select-all]")) {
    box.hidden = false; // useless without this script, so shown only with it
    box.addEventListener("change", () => {
      for (const other of document.querySelectorAll(`input[name="${box.dataset.selectAll}"]`)) {
        other.checked = box.checked;
      }
    });
  }
  // Live status: an element with data-poll="URL" reloads the page when the JSON at URL
  // no longer says "proposing".
  const poll = document.querySelector("[data-poll]");
  if (poll) {
    const tick = async () => {
      try {
        const r = await fetch(poll.dataset.poll, { credentials: "same-origin" });
        if (r.ok && (await r.json()).status !== "proposing") { location.reload(); return; }
      } catch (e) { /* try again */ }
      setTimeout(tick, 1500);
    };
    setTimeout(tick, 1500);
  }
});
