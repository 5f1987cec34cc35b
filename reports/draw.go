package reports

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/cyphertalk/cyphertalk-go/internal/atomicfile"
)

// Figure geometry: 8.5 in wide, drawn at 96 px/in for ~816 px on screen; the PNG is rasterised at twice that
// for sharp text on high-density displays (index.html shows it 816 px wide).
const (
	figureWidth = 8.5 * vg.Inch
	pngDPI      = 192
	displayDPI  = 96
)

// Font sizes in points (≥ 11 pt everywhere, as the reports must be readable at ~800 px).
const (
	titleSize  = 15
	labelSize  = 13
	tickSize   = 11.5
	legendSize = 11.5
	noteSize   = 11
)

var (
	sansFont     = font.Font{Typeface: "Liberation", Variant: "Sans"}
	sansBoldFont = font.Font{Typeface: "Liberation", Variant: "Sans", Weight: xfont.WeightBold}
)

func textStyle(size vg.Length, bold bool) text.Style {
	f := sansFont
	if bold {
		f = sansBoldFont
	}
	f.Size = size
	return text.Style{Color: color.Black, Font: f, Handler: plot.DefaultTextHandler, XAlign: draw.XLeft, YAlign: draw.YBottom}
}

// newPlot returns a plot with the reports' fonts and sizes (gonum's alignments kept) and tick marks dense
// enough to read values off.
func newPlot() *plot.Plot {
	p := plot.New()
	p.Title.TextStyle.Font = textStyle(labelSize, true).Font
	p.Title.Padding = 4
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font = textStyle(labelSize, false).Font
		ax.Tick.Label.Font = textStyle(tickSize, false).Font
		ax.Tick.Marker = plot.TickerFunc(niceTicks)
	}
	p.Legend.TextStyle.Font = textStyle(legendSize, false).Font
	return p
}

// niceTicks labels about six round values (steps of 1, 2, 2.5 or 5 × 10^k) with a minor tick between each.
func niceTicks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return []plot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'g', 4, 64)}}
	}
	raw := (hi - lo) / 6
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	prec := max(0, -int(math.Floor(math.Log10(step)+1e-9)))
	if math.Abs(step/math.Pow(10, -float64(prec))-math.Round(step/math.Pow(10, -float64(prec)))) > 1e-6 {
		prec++ // 2.5 × 10^k needs one more digit
	}
	var ticks []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', prec, 64)})
		if mid := v + step/2; mid <= hi {
			ticks = append(ticks, plot.Tick{Value: mid})
		}
	}
	if first := math.Ceil(lo/step)*step - step/2; first >= lo {
		ticks = append(ticks, plot.Tick{Value: first})
	}
	return ticks
}

// figure is a drawing of a fixed size; it renders to PNG and SVG.
type figure struct {
	width, height vg.Length
	draw          func(dc draw.Canvas)
}

func (f figure) png() ([]byte, error) {
	c := vgimg.NewWith(vgimg.UseWH(f.width, f.height), vgimg.UseDPI(pngDPI))
	f.draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("encoding PNG: %w", err)
	}
	return buf.Bytes(), nil
}

func (f figure) svg() ([]byte, error) {
	c := vgsvg.New(f.width, f.height)
	f.draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("encoding SVG: %w", err)
	}
	return buf.Bytes(), nil
}

// save writes dir/name.png and dir/name.svg atomically.
func (f figure) save(dir, name string) error {
	png, err := f.png()
	if err != nil {
		return fmt.Errorf("figure %s: %w", name, err)
	}
	svg, err := f.svg()
	if err != nil {
		return fmt.Errorf("figure %s: %w", name, err)
	}
	if err := atomicfile.Write(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, name+".svg"), svg, 0o644)
}

// fillBackground paints the whole canvas white (SVG is transparent otherwise).
func fillBackground(dc draw.Canvas) {
	dc.FillPolygon(color.White, rectPoints(dc.Min.X, dc.Min.Y, dc.Max.X, dc.Max.Y))
}

func rectPoints(x0, y0, x1, y1 vg.Length) []vg.Point {
	return []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
}

// drawTitle writes a bold title centred at the top of dc and returns the canvas below it.
func drawTitle(dc draw.Canvas, title string) draw.Canvas {
	sty := textStyle(titleSize, true)
	sty.XAlign = draw.XCenter
	sty.YAlign = draw.YTop
	pad := vg.Length(8)
	dc.FillText(sty, vg.Point{X: (dc.Min.X + dc.Max.X) / 2, Y: dc.Max.Y - pad}, title)
	h := sty.Height(title) + 2*pad
	return draw.Crop(dc, 0, 0, 0, -h)
}

// legendEntry is one swatch and its text in a legend row.
type legendEntry struct {
	text   string
	thumbs []plot.Thumbnailer
}

// legendLayout lays entries out left to right, wrapping to new rows within width, and returns the height used.
// Drawing the legend below the data keeps it from hiding bars or lines.
func legendLayout(entries []legendEntry, width vg.Length) (rows [][]legendEntry, height vg.Length) {
	sty := textStyle(legendSize, false)
	thumb, gap := vg.Length(22), vg.Length(6)
	var row []legendEntry
	var x vg.Length
	for _, e := range entries {
		w := thumb + gap + sty.Width(e.text) + 3*gap
		if len(row) > 0 && x+w > width {
			rows = append(rows, row)
			row, x = nil, 0
		}
		row = append(row, e)
		x += w
	}
	if len(row) > 0 {
		rows = append(rows, row)
	}
	lineH := sty.Height("Ag") + 6
	return rows, vg.Length(len(rows))*lineH + 8
}

// drawLegend draws a legend laid out by legendLayout at the bottom of dc, centred, and returns the canvas
// above it.
func drawLegend(dc draw.Canvas, entries []legendEntry) draw.Canvas {
	if len(entries) == 0 {
		return dc
	}
	sty := textStyle(legendSize, false)
	sty.YAlign = draw.YCenter
	thumb, gap := vg.Length(22), vg.Length(6)
	rows, height := legendLayout(entries, dc.Max.X-dc.Min.X-20)
	lineH := sty.Height("Ag") + 6
	for i, row := range rows {
		var rowW vg.Length
		for _, e := range row {
			rowW += thumb + gap + sty.Width(e.text) + 3*gap
		}
		x := (dc.Min.X+dc.Max.X)/2 - rowW/2
		yc := dc.Min.Y + height - 4 - lineH*vg.Length(i) - lineH/2
		for _, e := range row {
			th := lineH * 0.7
			tc := draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
				Min: vg.Point{X: x, Y: yc - th/2}, Max: vg.Point{X: x + thumb, Y: yc + th/2}}}
			for _, t := range e.thumbs {
				t.Thumbnail(&tc)
			}
			dc.FillText(sty, vg.Point{X: x + thumb + gap, Y: yc}, e.text)
			x += thumb + gap + sty.Width(e.text) + 3*gap
		}
	}
	return draw.Crop(dc, 0, 0, height, 0)
}

// drawNote writes wrapped small text at the bottom of dc and returns the canvas above it.
func drawNote(dc draw.Canvas, note string) draw.Canvas {
	if note == "" {
		return dc
	}
	sty := textStyle(noteSize, false)
	sty.Color = color.Gray{Y: 0x40}
	lines := wrapText(sty, note, dc.Max.X-dc.Min.X-30)
	lineH := sty.Height("Ag") + 3
	for i, l := range lines {
		dc.FillText(sty, vg.Point{X: dc.Min.X + 15, Y: dc.Min.Y + 6 + lineH*vg.Length(len(lines)-1-i)}, l)
	}
	return draw.Crop(dc, 0, 0, lineH*vg.Length(len(lines))+10, 0)
}

func noteHeight(note string, width vg.Length) vg.Length {
	if note == "" {
		return 0
	}
	sty := textStyle(noteSize, false)
	return (sty.Height("Ag")+3)*vg.Length(len(wrapText(sty, note, width-30))) + 10
}

// wrapText breaks txt into lines no wider than width.
func wrapText(sty text.Style, txt string, width vg.Length) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(txt) {
		try := w
		if line != "" {
			try = line + " " + w
		}
		if line != "" && sty.Width(try) > width {
			lines = append(lines, line)
			line = w
			continue
		}
		line = try
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// placeholder is the figure drawn when the results hold nothing to plot: it names what is missing.
func placeholder(title, message string) figure {
	return figure{width: figureWidth, height: 3 * vg.Inch, draw: func(dc draw.Canvas) {
		fillBackground(dc)
		body := drawTitle(dc, title)
		body = draw.Crop(body, 20, -20, 20, -10)
		dc.StrokeLines(draw.LineStyle{Color: color.Gray{Y: 0xa0}, Width: 1, Dashes: []vg.Length{4, 3}},
			append(rectPoints(body.Min.X, body.Min.Y, body.Max.X, body.Max.Y), body.Min))
		sty := textStyle(labelSize, false)
		sty.XAlign = draw.XCenter
		sty.YAlign = draw.YCenter
		lines := wrapText(sty, "No data: "+message, body.Max.X-body.Min.X-40)
		lineH := sty.Height("Ag") + 4
		top := (body.Min.Y+body.Max.Y)/2 + lineH*vg.Length(len(lines)-1)/2
		for i, l := range lines {
			dc.FillText(sty, vg.Point{X: (body.Min.X + body.Max.X) / 2, Y: top - lineH*vg.Length(i)}, l)
		}
	}}
}

// Colours: a colour-blind-safe palette (Okabe–Ito) for methods and operators, and one hue per party.
var (
	palette = []color.RGBA{
		{0x00, 0x72, 0xb2, 0xff}, // blue
		{0xe6, 0x9f, 0x00, 0xff}, // orange
		{0x00, 0x9e, 0x73, 0xff}, // green
		{0xcc, 0x79, 0xa7, 0xff}, // purple
		{0xd5, 0x5e, 0x00, 0xff}, // vermillion
		{0x56, 0xb4, 0xe9, 0xff}, // sky
		{0x80, 0x80, 0x80, 0xff}, // grey
		{0xf0, 0xe4, 0x42, 0xff}, // yellow
	}
	partyColors = [3]color.RGBA{
		{0x00, 0x72, 0xb2, 0xff}, // client: blue
		{0xe6, 0x9f, 0x00, 0xff}, // cloud: orange
		{0x00, 0x9e, 0x73, 0xff}, // dealer: green
	}
	barOutline = color.Gray{Y: 0x30}
)

func paletteColor(i int) color.RGBA { return palette[i%len(palette)] }

// lighten mixes c with white (f = 0: c, 1: white).
func lighten(c color.RGBA, f float64) color.RGBA {
	mix := func(v uint8) uint8 { return uint8(math.Round(float64(v) + (255-float64(v))*f)) }
	return color.RGBA{mix(c.R), mix(c.G), mix(c.B), 0xff}
}

// hatch strokes 45° lines across the rectangle (x0,y0)-(x1,y1), clipped to it: the mark of an extrapolated
// figure.
func hatch(c *draw.Canvas, x0, y0, x1, y1 vg.Length) {
	const spacing = 5
	sty := draw.LineStyle{Color: color.Gray{Y: 0x30}, Width: 0.7}
	w, h := x1-x0, y1-y0
	if w <= 0 || h <= 0 {
		return
	}
	// Lines y - y0 = (x - x0) - k for k from -h to w.
	for k := -h; k < w; k += spacing {
		// Start and end of the line inside the box.
		sx, sy := x0+max(k, 0), y0+max(-k, 0)
		l := min(w-max(k, 0), h-max(-k, 0))
		if l <= 0 {
			continue
		}
		c.StrokeLine2(sty, sx, sy, sx+l, sy+l)
	}
}

// swatch is a legend thumbnail: a filled box, optionally hatched.
type swatch struct {
	fill    color.Color
	hatched bool
}

func (s swatch) Thumbnail(c *draw.Canvas) {
	pts := rectPoints(c.Min.X, c.Min.Y, c.Max.X, c.Max.Y)
	c.FillPolygon(s.fill, pts)
	if s.hatched {
		hatch(c, c.Min.X, c.Min.Y, c.Max.X, c.Max.Y)
	}
	c.StrokeLines(draw.LineStyle{Color: barOutline, Width: 0.8}, append(pts, pts[0]))
}

// writeFile is atomicfile.WriteFunc with the reports' permissions.
func writeFile(path string, fill func(w io.Writer) error) error {
	return atomicfile.WriteFunc(path, 0o644, fill)
}
