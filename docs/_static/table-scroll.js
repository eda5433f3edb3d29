// A table wider than the text column scrolls sideways in its container
// (the theme's .pst-scrollable-table-container). Its scrollbar is at the
// table's foot, often below the window, so a table seen from the top
// looked cut off at the right. This marks the container while more of the
// table lies to its right or left, and custom.css fades that edge.
(() => {
  const update = (box) => {
    const hidden = box.scrollWidth - box.clientWidth;
    box.classList.toggle("skae-more-right", hidden > 1 && box.scrollLeft < hidden - 1);
    box.classList.toggle("skae-more-left", hidden > 1 && box.scrollLeft > 1);
  };
  const setup = () => {
    const boxes = document.querySelectorAll(".bd-article .pst-scrollable-table-container");
    for (const box of boxes) {
      update(box);
      box.addEventListener("scroll", () => update(box), { passive: true });
    }
    window.addEventListener("resize", () => boxes.forEach(update));
  };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
