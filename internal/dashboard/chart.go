package dashboard

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
)

// Point is one value of a chart.
type Point struct {
	Label string
	Value float64
}

const (
	chartW, chartH = 640, 200
	padL, padR     = 48, 8
	padT, padB     = 24, 28
)

// BarChart renders points as an SVG bar chart with a title, a y axis from zero to a round maximum
// and every other x label; it is inline markup, with no script. unit is appended to tooltips.
func BarChart(title, unit string, pts []Point) template.HTML {
	return chart(title, unit, pts, true)
}

// LineChart renders points as an SVG line with dots.
func LineChart(title, unit string, pts []Point) template.HTML {
	return chart(title, unit, pts, false)
}

func chart(title, unit string, pts []Point, bars bool) template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		chartW, chartH, html.EscapeString(title))
	fmt.Fprintf(&b, `<text x="%d" y="14" class="chart-title">%s</text>`, padL, html.EscapeString(title))
	maxV := 0.0
	for _, p := range pts {
		maxV = math.Max(maxV, p.Value)
	}
	top := niceMax(maxV)
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padT-padB)
	y := func(v float64) float64 { return float64(padT) + plotH - v/top*plotH }
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/><text x="%d" y="%.1f" class="axis" text-anchor="end">%s</text>`,
			padL, chartW-padR, y(v), y(v), padL-4, y(v)+4, fmtValue(v))
	}
	if len(pts) == 0 {
		b.WriteString(`<text x="320" y="110" class="axis" text-anchor="middle">no data</text></svg>`)
		return template.HTML(b.String())
	}
	step := plotW / float64(len(pts))
	every := max(1, len(pts)/12)
	var line []string
	for i, p := range pts {
		x := float64(padL) + step*float64(i)
		tip := html.EscapeString(fmt.Sprintf("%s: %s %s", p.Label, fmtValue(p.Value), unit))
		if bars {
			bw := math.Max(1, step*0.8)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="bar"><title>%s</title></rect>`,
				x+step*0.1, y(p.Value), bw, float64(padT)+plotH-y(p.Value), tip)
		} else {
			cx := x + step/2
			line = append(line, fmt.Sprintf("%.1f,%.1f", cx, y(p.Value)))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" class="dot"><title>%s</title></circle>`, cx, y(p.Value), tip)
		}
		if i%every == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="axis" text-anchor="middle">%s</text>`, x+step/2, chartH-8, html.EscapeString(p.Label))
		}
	}
	if !bars && len(line) > 1 {
		fmt.Fprintf(&b, `<polyline points="%s" class="line"/>`, strings.Join(line, " "))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// niceMax rounds v up to 1, 2 or 5 times a power of ten (at least 1).
func niceMax(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func fmtValue(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}
