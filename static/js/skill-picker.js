// The skill picker: a search box over a plain <select data-skill-picker>.
// Progressive enhancement: without this file the select works as it is (a list box
// for several skills, a drop-down to add one). With it, typing part of a name lists
// the matching skills; the arrow keys move, Enter chooses, Escape closes.
//   <select multiple data-skill-picker>  chosen skills show as chips with a Remove button
//   <select data-skill-picker="add" data-rows="#list" data-row-template="#tpl">
//       choosing adds a row (the <template>'s first element, its select named
//       "skill-<id>") to the list, for a level per skill.
(function () {
  "use strict";
  var MAX_SHOWN = 50;
  var counter = 0;

  function fold(text) {
    return text.toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "");
  }

  function groupOf(option) {
    var parent = option.parentNode;
    return parent && parent.tagName === "OPTGROUP" ? parent.label : "";
  }

  function choices(select) {
    return Array.prototype.filter.call(select.options, function (o) {
      return o.value !== "" && !o.disabled;
    });
  }

  function enhance(select) {
    var base = select.id || "skill-picker-" + (++counter);
    var adding = select.getAttribute("data-skill-picker") === "add";
    var form = select.form || document;
    var wrap = document.createElement("div");
    var input = document.createElement("input");
    var list = document.createElement("ul");
    var status = document.createElement("p");
    var chosen = null;
    var shown = [];
    var active = -1;

    wrap.className = "picker";
    input.type = "text";
    input.id = base + "-search";
    input.className = "input picker-input";
    input.autocomplete = "off";
    input.spellcheck = false;
    input.setAttribute("autocapitalize", "none");
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", base + "-list");
    input.placeholder = select.getAttribute("data-placeholder") || "Type part of a skill’s name";
    list.id = base + "-list";
    list.className = "picker-list";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    status.className = "visually-hidden";
    status.setAttribute("role", "status");

    // The select's label now names the search box (and the list).
    var label = select.id ? document.querySelector('label[for="' + select.id + '"]') : null;
    if (label) {
      label.id = label.id || base + "-label";
      label.htmlFor = input.id;
      list.setAttribute("aria-labelledby", label.id);
    } else {
      input.setAttribute("aria-label", select.getAttribute("aria-label") || "Find a skill");
      list.setAttribute("aria-label", "Skills");
    }
    var hint = select.parentNode.querySelector(".hint");
    if (hint) {
      hint.id = hint.id || base + "-hint";
      input.setAttribute("aria-describedby", hint.id);
    }

    if (select.multiple) {
      chosen = document.createElement("ul");
      chosen.className = "chips picker-chosen";
      chosen.setAttribute("aria-label", label ? label.textContent.trim() + ": chosen" : "Chosen");
      wrap.appendChild(chosen);
    }
    wrap.appendChild(input);
    wrap.appendChild(list);
    wrap.appendChild(status);
    select.parentNode.insertBefore(wrap, select.nextSibling);
    select.hidden = true;
    select.tabIndex = -1;
    select.setAttribute("aria-hidden", "true");
    if (adding) {
      Array.prototype.forEach.call(form.querySelectorAll("[data-picker-plain]"), function (el) {
        el.hidden = true;
      });
    }

    function say(text) {
      status.textContent = text;
    }

    function open() {
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var items = list.querySelectorAll("[role=option]");
      active = index;
      Array.prototype.forEach.call(items, function (item, i) {
        item.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      if (index >= 0 && items[index]) {
        input.setAttribute("aria-activedescendant", items[index].id);
        items[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function render() {
      var words = fold(input.value).split(/\s+/).filter(Boolean);
      var matches = choices(select).filter(function (o) {
        if (select.multiple && o.selected) return false;
        var text = fold(o.text + " " + groupOf(o));
        return words.every(function (w) { return text.indexOf(w) !== -1; });
      });
      shown = matches.slice(0, MAX_SHOWN);
      list.textContent = "";
      shown.forEach(function (o) {
        var item = document.createElement("li");
        var group = groupOf(o);
        item.id = base + "-option-" + o.value;
        item.className = "picker-option";
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.textContent = o.text;
        if (group) {
          var small = document.createElement("span");
          small.className = "picker-group";
          small.textContent = group;
          item.appendChild(small);
        }
        item.addEventListener("mousedown", function (event) {
          event.preventDefault();   // keep the focus in the box
          choose(o);
        });
        list.appendChild(item);
      });
      if (!shown.length) {
        var none = document.createElement("li");
        none.className = "picker-empty";
        none.textContent = "No skill matches “" + input.value.trim() + "”.";
        list.appendChild(none);
      } else if (matches.length > shown.length) {
        var more = document.createElement("li");
        more.className = "picker-empty";
        more.textContent = (matches.length - shown.length) + " more: keep typing to narrow.";
        list.appendChild(more);
      }
      active = -1;
      input.removeAttribute("aria-activedescendant");
      return matches.length;
    }

    function renderChosen() {
      if (!chosen) return;
      chosen.textContent = "";
      choices(select).forEach(function (o) {
        if (!o.selected) return;
        var chip = document.createElement("li");
        var name = document.createElement("span");
        var remove = document.createElement("button");
        chip.className = "picker-chip";
        name.textContent = o.text;
        remove.type = "button";
        remove.className = "picker-remove";
        remove.textContent = "×";
        remove.setAttribute("aria-label", "Remove " + o.text);
        remove.addEventListener("click", function () {
          o.selected = false;
          renderChosen();
          say("Removed " + o.text + ".");
          input.focus();
        });
        chip.appendChild(name);
        chip.appendChild(remove);
        chosen.appendChild(chip);
      });
    }

    function addRow(o) {
      var rows = document.querySelector(select.getAttribute("data-rows"));
      var template = document.querySelector(select.getAttribute("data-row-template"));
      if (!rows || !template) return null;
      var row = template.content.firstElementChild.cloneNode(true);
      var level = row.querySelector("select");
      var name = row.querySelector("[data-name]");
      var group = row.querySelector("[data-group]");
      var rowLabel = row.querySelector("label");
      level.name = "skill-" + o.value;
      level.id = "skill-" + o.value;
      if (rowLabel) rowLabel.htmlFor = level.id;
      if (name) name.textContent = o.text;
      if (group) group.textContent = groupOf(o);
      rows.appendChild(row);
      Array.prototype.forEach.call(document.querySelectorAll("[data-skill-empty]"), function (el) {
        el.hidden = true;
      });
      return level;
    }

    function choose(o) {
      close();
      input.value = "";
      if (select.multiple) {
        o.selected = true;
        renderChosen();
        say("Added " + o.text + ".");
        input.focus();
        return;
      }
      if (adding) {
        var level = addRow(o);
        var group = o.parentNode;
        o.remove();
        if (group.tagName === "OPTGROUP" && !group.children.length) group.remove();
        say("Added " + o.text + ". Choose its level.");
        if (level) level.focus();
        return;
      }
      select.value = o.value;
      input.value = o.text;
      say("Chose " + o.text + ".");
    }

    input.addEventListener("input", function () {
      var n = render();
      open();
      say(n + (n === 1 ? " skill matches." : " skills match."));
    });
    input.addEventListener("click", function () {
      if (list.hidden) {
        render();
        open();
      }
    });
    input.addEventListener("blur", close);
    input.addEventListener("keydown", function (event) {
      var count = shown.length;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (list.hidden) {
          render();
          open();
          count = shown.length;
        }
        if (!count) return;
        var step = event.key === "ArrowDown" ? 1 : -1;
        highlight(active < 0 ? (step > 0 ? 0 : count - 1) : (active + step + count) % count);
      } else if (event.key === "Enter") {
        event.preventDefault();   // Enter in the box chooses; it never sends the form
        if (!list.hidden && count) choose(shown[active >= 0 ? active : 0]);
      } else if (event.key === "Escape") {
        if (!list.hidden) {
          event.preventDefault();
          close();
        } else {
          input.value = "";
        }
      }
    });
    renderChosen();
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("select[data-skill-picker]"), enhance);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
