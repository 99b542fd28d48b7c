// Long literals in tables (a test's name, a dotted path) get a break opportunity (<wbr>) after
// each underscore and dot, where a person would break them; vscale.css lets them wrap there.
// The text is unchanged: copying a literal gives it whole.
document.addEventListener("DOMContentLoaded", () => {
  for (const span of document.querySelectorAll("div.body table.docutils code.literal span.pre")) {
    const text = span.textContent;
    if (text.length < 16 || !/[_.]/.test(text)) continue;
    span.replaceChildren(...text.split(/(?<=[_.])/).flatMap((part) => [part, document.createElement("wbr")]).slice(0, -1));
  }
});
