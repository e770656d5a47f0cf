// custbulk ui: the little the page needs beyond htmx. A file dropped on the drop zone goes
// into its file input and the form is sent; a form being sent shows that work is under way.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var busy = document.getElementById("busy");
  document.querySelectorAll("form.busy").forEach(function (form) {
    form.addEventListener("submit", function () {
      if (busy) busy.classList.add("on");
    });
  });
  document.querySelectorAll(".drop").forEach(function (zone) {
    var input = zone.querySelector("input[type=file]");
    var form = zone.closest("form");
    if (!input || !form) return;
    input.addEventListener("change", function () {
      if (input.files.length > 0) {
        if (busy) busy.classList.add("on");
        form.submit();
      }
    });
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (e) {
        e.preventDefault();
        zone.classList.add("over");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () {
        zone.classList.remove("over");
      });
    });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files.length > 0) {
        input.files = e.dataTransfer.files;
        if (busy) busy.classList.add("on");
        form.submit();
      }
    });
  });
  // Enter in a grid cell leaves it, which sends the edit (htmx listens for "change").
  document.body.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.key === "Enter" && t && t.classList && t.classList.contains("cell")) {
      e.preventDefault();
      t.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });
  if (busy) {
    document.body.addEventListener("htmx:beforeRequest", function () { busy.classList.add("on"); });
    document.body.addEventListener("htmx:afterRequest", function () { busy.classList.remove("on"); });
  }
});
