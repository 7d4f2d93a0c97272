// Progressive enhancements only: every page works without this file.
(function () {
  "use strict";

  // Buttons with data-confirm ask before their form is submitted.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  // Close the user menu when clicking elsewhere or pressing Escape.
  function closeMenus(except) {
    document.querySelectorAll("details.user-menu[open]").forEach(function (menu) {
      if (menu !== except) menu.removeAttribute("open");
    });
  }
  document.addEventListener("click", function (event) {
    closeMenus(event.target.closest("details.user-menu"));
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closeMenus(null);
  });

  // Composer: typing @ and two letters of a name offers people to mention; picking one inserts
  // @[Name](/users/ID), the only form the server counts as a mention. Without JavaScript people can type it.
  function setupMentions(textarea) {
    var url = textarea.getAttribute("data-mentions");
    var menu = document.createElement("ul");
    menu.className = "mention-menu list-group shadow-sm";
    menu.id = textarea.id + "-mentions";
    menu.setAttribute("role", "listbox");
    menu.hidden = true;
    textarea.parentNode.appendChild(menu);
    textarea.setAttribute("aria-autocomplete", "list");
    textarea.setAttribute("aria-controls", menu.id);
    var items = [], active = -1, start = -1, timer = null, seq = 0;

    function close() { menu.hidden = true; items = []; active = -1; textarea.removeAttribute("aria-activedescendant"); }
    function highlight(index) {
      active = index;
      Array.prototype.forEach.call(menu.children, function (li, i) {
        li.classList.toggle("active", i === index);
        li.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      if (index >= 0) textarea.setAttribute("aria-activedescendant", menu.children[index].id);
    }
    function choose(index) {
      var user = items[index];
      if (!user) return;
      var before = textarea.value.slice(0, start), after = textarea.value.slice(textarea.selectionStart);
      textarea.value = before + user.mention + " " + after;
      var caret = before.length + user.mention.length + 1;
      textarea.setSelectionRange(caret, caret);
      close();
      textarea.focus();
    }
    function show(users) {
      menu.textContent = "";
      items = users;
      if (!users.length) { close(); return; }
      users.forEach(function (user, i) {
        var li = document.createElement("li");
        li.className = "list-group-item list-group-item-action";
        li.id = menu.id + "-" + i;
        li.setAttribute("role", "option");
        li.textContent = user.name + (user.organization ? " · " + user.organization : "");
        li.addEventListener("mousedown", function (event) { event.preventDefault(); choose(i); });
        menu.appendChild(li);
      });
      menu.hidden = false;
      highlight(0);
    }
    textarea.addEventListener("input", function () {
      var upto = textarea.value.slice(0, textarea.selectionStart);
      var match = /(^|\s)@([^\s@\[\]()]{2,30})$/.exec(upto);
      if (!match) { close(); return; }
      start = upto.length - match[2].length - 1;
      clearTimeout(timer);
      var term = match[2], mine = ++seq;
      timer = setTimeout(function () {
        fetch(url + "?q=" + encodeURIComponent(term), {headers: {"Accept": "application/json"}, credentials: "same-origin"})
          .then(function (r) { return r.ok ? r.json() : {users: []}; })
          .then(function (data) { if (mine === seq) show(data.users || []); })
          .catch(close);
      }, 150);
    });
    textarea.addEventListener("keydown", function (event) {
      if (menu.hidden) return;
      if (event.key === "ArrowDown") { event.preventDefault(); highlight((active + 1) % items.length); }
      else if (event.key === "ArrowUp") { event.preventDefault(); highlight((active - 1 + items.length) % items.length); }
      else if (event.key === "Enter" || event.key === "Tab") { event.preventDefault(); choose(active); }
      else if (event.key === "Escape") { close(); }
    });
    textarea.addEventListener("blur", function () { setTimeout(close, 150); });
  }
  document.querySelectorAll("textarea[data-mentions]").forEach(setupMentions);

  // Likes without a page reload (the form still works without JavaScript).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("like-form") || !window.fetch) return;
    event.preventDefault();
    fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin",
                        headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        var button = form.querySelector(".like-button");
        button.classList.toggle("btn-primary", data.liked);
        button.classList.toggle("btn-outline-primary", !data.liked);
        button.setAttribute("aria-pressed", data.liked ? "true" : "false");
        button.querySelector(".like-label").textContent = data.liked ? "Liked" : "Like";
        var count = form.parentNode.querySelector(".like-count");
        if (!count) {
          count = document.createElement("a");
          count.className = "small me-2 like-count";
          count.href = form.action.replace(/\/like$/, "/likes");
          form.insertAdjacentElement("afterend", count);
        }
        count.textContent = data.like_count ? data.like_count + (data.like_count === 1 ? " like" : " likes") : "";
      })
      .catch(function () { form.submit(); });
  });
})();
