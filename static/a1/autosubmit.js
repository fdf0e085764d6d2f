// Filter forms submit when a control marked data-autosubmit changes. A file, not inline
// onchange= handlers, so the Content-Security-Policy can refuse inline script (docs/security.md).
document.querySelectorAll("[data-autosubmit]").forEach((control) => {
  control.addEventListener("change", () => control.form.submit());
});
