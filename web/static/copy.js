// cardbridge web UI: copy buttons (progressive enhancement: without this
// script the buttons stay hidden and the fields can be selected by hand).
"use strict";
document.querySelectorAll("button.copy[data-copy]").forEach(function (b) {
  var field = document.getElementById(b.getAttribute("data-copy"));
  if (!field || !navigator.clipboard) { return; }
  b.hidden = false;
  b.setAttribute("aria-label", "Copy " + (field.labels && field.labels[0] ? field.labels[0].textContent : "the value"));
  b.addEventListener("click", function () {
    navigator.clipboard.writeText(field.value).then(function () {
      b.textContent = "Copied";
      setTimeout(function () { b.textContent = "Copy"; }, 2000);
    }, function () { field.select(); });
  });
});
