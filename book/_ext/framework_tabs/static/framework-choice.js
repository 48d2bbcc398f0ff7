// A framework named in the address (?framework=MXNet) opens every tab set on it, whatever
// its case; a name the book does not know (?framework=tensorflow) is ignored and leaves the
// reader's saved choice alone. sphinx-design's tab script reads the address when the page
// has loaded and saves whatever it finds, so this script, which runs first, rewrites the
// address to the framework's own id (or drops the parameter) and, where a browser refuses
// to rewrite it (a page opened from file://), puts the choice right after that script ran.
(function () {
  "use strict";
  const script = document.currentScript;
  const group = script.dataset.syncGroup;
  const known = script.dataset.frameworks.split(" ");
  const key = (script.dataset.storagePrefix || "sphinx-design-tab-id-") + group;
  const url = new URL(window.location.href);
  const given = [...url.searchParams.keys()].filter((name) => name.toLowerCase() === group);
  if (!given.length) return;
  const asked = url.searchParams.get(given[0]).trim().toLowerCase();
  const wanted = known.includes(asked) ? asked : null;
  let saved = null;
  try {
    saved = window.localStorage.getItem(key);
  } catch (err) {
    // no storage: there is nothing to protect
  }
  given.forEach((name) => url.searchParams.delete(name));
  if (wanted) url.searchParams.set(group, wanted);
  try {
    window.history.replaceState(window.history.state, "", url.href);
  } catch (err) {
    // file:// pages may not change their address; the fix below does the same
  }

  function select(id) {
    document.querySelectorAll(`.sd-tab-label[data-sync-group="${group}"]`).forEach((label) => {
      if (label.dataset.syncId !== id) return;
      const input = document.getElementById(label.getAttribute("for"));
      if (input) input.checked = true;
    });
  }

  // After every DOMContentLoaded listener, sphinx-design's included.
  document.addEventListener("DOMContentLoaded", () => setTimeout(() => {
    const choice = wanted || saved;
    try {
      if (choice) window.localStorage.setItem(key, choice);
      else window.localStorage.removeItem(key);
    } catch (err) {
      // no storage
    }
    if (choice) select(choice);
  }, 0));
})();
